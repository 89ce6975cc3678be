import { render } from 'preact';
import '../shared/styles.css';
import './agent.css';
import { AgentApp } from './app';
import { registerServiceWorker } from './pwa/register';

render(<AgentApp />, document.getElementById('app')!);
registerServiceWorker();
