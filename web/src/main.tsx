import { render } from 'preact';
import { App } from './app';
import { startEarly } from './early';
import { currentRoute } from './route';
import { firstMessagesPath } from './pages/messages';
import 'uplot/dist/uPlot.min.css';
import './styles.css';

startEarly('/session');
const route = currentRoute();
if (route.path.length === 1 && route.path[0] === 'messages') startEarly(firstMessagesPath(route.query));

render(<App />, document.getElementById('root')!);
