import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { initToken } from './lib/api';
import { initTheme } from './lib/theme.svelte';

initTheme();
initToken();

const app = mount(App, { target: document.getElementById('app')! });

export default app;
