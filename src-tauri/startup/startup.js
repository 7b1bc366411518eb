// The shell sets window.__OXBOW_START_ERROR__ in an initialization script before this runs.
const reason = window.__OXBOW_START_ERROR__;
if (typeof reason === 'string') document.getElementById('reason').textContent = reason;
