// Every migration in order. Listed by hand (no file globbing) so the build and the tests see the same set.
import { Initial1732000000000 } from './1732000000000-initial.js';
import { QueueRouting1732100000000 } from './1732100000000-queue-routing.js';
import { TaskCallback1732200000000 } from './1732200000000-task-callback.js';
import { Recordings1732300000000 } from './1732300000000-recordings.js';
import { MediaSessions1732310000000 } from './1732310000000-media-sessions.js';
import { QueueChatsDuringCalls1732320000000 } from './1732320000000-queue-chats-during-calls.js';
import { Charging1732400000000 } from './1732400000000-charging.js';
import { Social1732500000000 } from './1732500000000-social.js';
import { Push1732600000000 } from './1732600000000-push.js';
import { AgentPhone1732700000000 } from './1732700000000-agent-phone.js';
import { AgentAccounts1732800000000 } from './1732800000000-agent-accounts.js';
import { Context1732900000000 } from './1732900000000-context.js';
import { QueueMaxWait1733000000000 } from './1733000000000-queue-max-wait.js';
import { Location1733100000000 } from './1733100000000-location.js';
import { EmailIdentities1733400000000 } from './1733400000000-email-identities.js';
import { SipTrunks1733300000000 } from './1733300000000-sip-trunks.js';
import { CannedResponses1733200000000 } from './1733200000000-canned-responses.js';
import { OffersWhenClosed1733500000000 } from './1733500000000-offers-when-closed.js';

export const MIGRATIONS = [Initial1732000000000, QueueRouting1732100000000, TaskCallback1732200000000, Recordings1732300000000, MediaSessions1732310000000, QueueChatsDuringCalls1732320000000, Charging1732400000000, Social1732500000000, Push1732600000000, AgentPhone1732700000000, AgentAccounts1732800000000, Context1732900000000, QueueMaxWait1733000000000, Location1733100000000, EmailIdentities1733400000000, SipTrunks1733300000000, CannedResponses1733200000000, OffersWhenClosed1733500000000];
