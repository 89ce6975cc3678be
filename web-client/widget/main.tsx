import { render } from 'preact';
import '../shared/styles.css';
import { WidgetApp } from './app';

render(<WidgetApp />, document.getElementById('app')!);
