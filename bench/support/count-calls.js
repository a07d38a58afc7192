/**
 * A Node preload for the bench's brokers (BENCH_BROKER_NODE_ARGS="-r ./bench/support/count-calls.js"): counts
 * each statement sent through node-postgres (by its first 60 characters) and each request sent through
 * undici.request (method, path with ids cut out, view and state), and writes them per process to
 * COUNT_CALLS_DIR (default /tmp/constellation-calls) every second and at exit. Counts are what a change to
 * round trips is judged by: unlike CPU time, load on a shared machine does not move them.
 */
const fs = require('fs');
const path = require('path');

const counts = {};
const count = (key) => {
  counts[key] = (counts[key] || 0) + 1;
};
const fromApp = (name) => require(require.resolve(name, { paths: [process.cwd()] }));

const pg = fromApp('pg');
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, ...rest) {
  const text = typeof config === 'string' ? config : config && config.text;
  if (typeof text === 'string') count(text.replace(/\s+/g, ' ').trim().slice(0, 60));
  return query.call(this, config, ...rest);
};

// The adapters call undici.request through the module's export, so replacing the export sees every call.
const undici = fromApp('undici');
const request = undici.request;
Object.defineProperty(undici, 'request', {
  configurable: true,
  enumerable: true,
  writable: true,
  value: function (url, options = {}) {
    const u = new URL(String(url));
    const shape = u.pathname.replace(/\/tasks\/[^/:]+/, '/tasks/ID').replace(/\/jobs\/.*/, '/jobs/ID...');
    const view = u.searchParams.get('view') || '';
    const state = u.searchParams.get('state') || '';
    count(`HTTP ${options.method || 'GET'} ${shape} ${view} ${state}`.trim());
    return request.call(this, url, options);
  },
});

const dir = process.env.COUNT_CALLS_DIR || '/tmp/constellation-calls';
const dump = () => {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify(counts));
};
process.on('exit', dump);
setInterval(dump, 1000).unref();
