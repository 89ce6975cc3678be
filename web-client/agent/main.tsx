import { render } from 'preact';
import '../shared/styles.css';
import { AgentApp } from './app';

render(<AgentApp />, document.getElementById('app')!);
