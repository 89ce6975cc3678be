import { render } from 'preact';
import '../shared/styles.css';
import { AdminApp } from './app';

render(<AdminApp />, document.getElementById('app')!);
