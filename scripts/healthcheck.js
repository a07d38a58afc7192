#!/usr/bin/env node
// Container health check (the image has no curl): exit 0 when the broker's /health/ready answers 200, that is
// when it serves HTTP and its database answers; 1 otherwise. The broker listens on PORT inside the container.
const port = process.env.PORT || '8080';

fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(4000) }).then(
  (res) => process.exit(res.status === 200 ? 0 : 1),
  () => process.exit(1),
);
