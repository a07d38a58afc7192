'use strict';
/**
 * Stand-ins for the commands of Pulsar's staging image (galaxy/pulsar-pod-staging), `pulsar-submit` and
 * `pulsar-finish`, as Pulsar's TES coexecution runs them (galaxyproject/pulsar pulsar/client/client.py,
 * CoexecutionLaunchMixin.launch; pulsar/scripts/submit.py and finish.py): both take
 * `[--manager M] [--wait|--no-wait] --base64 <setup message> --app_conf_base64 <app config>`.
 *
 * - submit creates `<staging_directory>/<job_id>/{inputs,working,outputs,metadata}`, fetches every
 *   `remote_staging.setup` item from its URL (Galaxy's job-files API) into `inputs/`, and writes the job's
 *   `command_line` where the tool container waits for it; with `--wait` (a tool without a container) it runs
 *   the command itself and then does what finish does.
 * - finish POSTs every `client_outputs.output_files` entry found in `outputs/` (by base name) to the action
 *   mapper's `files_endpoint`, multipart with the field `file`, as Pulsar's post-processing does.
 * - with `message_queue_url` in the app config, each publishes a status update (`running`, then `complete`) to
 *   `pulsar_<manager>__status_update` on the exchange `pulsar`, as the staging image reports to Galaxy's
 *   RabbitMQ in the message-queue variant.
 *
 * Container paths (the staging directory) are taken under $CONTAINER_ROOT, which the stand-in container runtime
 * sets; every step is appended to `<job dir>/steps` so tests can see the order and the shared folder.
 */
/* global FormData */
const { spawnSync } = require('node:child_process');
const { Blob } = require('node:buffer');
const { URLSearchParams } = require('node:url');
const fs = require('node:fs');
const path = require('node:path');

const [command, ...args] = process.argv.slice(2);

function fail(message) {
  process.stderr.write(`${command}: ${message}\n`);
  process.exit(1);
}

let manager = '_default_';
let wait = false;
let job = null;
let conf = null;
const decode = (text) => JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--manager') manager = args[++i];
  else if (arg === '--wait') wait = true;
  else if (arg === '--no-wait') wait = false;
  else if (arg === '--base64') job = decode(args[++i]);
  else if (arg === '--app_conf_base64') conf = decode(args[++i]);
  else fail(`unrecognized arguments: ${arg}`);
}
if (!job || !conf) fail('the following arguments are required: --base64, --app_conf_base64');

const root = process.env.CONTAINER_ROOT || '';
const staging = path.join(root, conf.staging_directory || '/pulsar_staging/');
const jobDir = path.join(staging, String(job.job_id));
const step = (what) => fs.appendFileSync(path.join(jobDir, 'steps'), `${what}\t${process.cwd()}\n`);

async function publish(status, extra = {}) {
  if (!conf.message_queue_url) return;
  const amqp = require(process.env.STANDIN_AMQPLIB || 'amqplib');
  const model = await amqp.connect(conf.message_queue_url);
  try {
    const channel = await model.createChannel();
    await channel.assertExchange('pulsar', 'direct', { durable: true });
    const queue = manager === '_default_' ? 'pulsar__status_update' : `pulsar_${manager}__status_update`;
    const body = {
      job_id: String(job.job_id),
      status,
      complete: status === 'complete' ? 'true' : 'false',
      ...extra,
    };
    channel.publish('pulsar', queue, Buffer.from(JSON.stringify(body)), { contentType: 'application/json' });
    await channel.close();
  } finally {
    await model.close();
  }
}

async function submit() {
  for (const dir of ['inputs', 'working', 'outputs', 'metadata'])
    fs.mkdirSync(path.join(jobDir, dir), { recursive: true });
  step('submit');
  const setup = (job.remote_staging && job.remote_staging.setup) || [];
  for (const item of setup) {
    const res = await fetch(item.action.url);
    if (!res.ok) fail(`staging ${item.name} failed: HTTP ${res.status}`);
    fs.writeFileSync(
      path.join(jobDir, 'inputs', path.basename(item.name)),
      Buffer.from(await res.arrayBuffer()),
    );
  }
  fs.writeFileSync(path.join(jobDir, 'command_line'), job.command_line);
  await publish('running');
  if (wait) {
    const ran = spawnSync('sh', [path.join(jobDir, 'command_line')], { stdio: 'inherit' });
    fs.writeFileSync(path.join(jobDir, 'metadata', 'return_code'), String(ran.status));
    await finish();
  }
}

async function finish() {
  step('finish');
  const outputs = (job.remote_staging && job.remote_staging.client_outputs) || {};
  const endpoint =
    job.remote_staging && job.remote_staging.action_mapper && job.remote_staging.action_mapper.files_endpoint;
  for (const file of outputs.output_files || []) {
    const local = path.join(jobDir, 'outputs', path.basename(file));
    if (!fs.existsSync(local)) continue;
    const form = new FormData();
    form.append('file', new Blob([fs.readFileSync(local)]), path.basename(file));
    const url = `${endpoint}${endpoint.includes('?') ? '&' : '?'}${new URLSearchParams({ path: file, file_type: 'output' })}`;
    const res = await fetch(url, { method: 'POST', body: form });
    if (!res.ok) fail(`posting ${file} failed: HTTP ${res.status}`);
  }
  await publish('complete', { returncode: 0 });
}

(command === 'pulsar-submit'
  ? submit()
  : command === 'pulsar-finish'
    ? finish()
    : fail('unknown command')
).catch((err) => fail(err && err.message ? err.message : String(err)));
