// Every migration in order. Listed by hand (no file globbing) so the build and the tests see the same set.
import { Initial1732000000000 } from './1732000000000-initial.js';

export const MIGRATIONS = [Initial1732000000000];
