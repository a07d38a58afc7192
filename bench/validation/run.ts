/**
 * npm run bench:validation — the TES task validator (libs/tes task-document.validator.ts, hand-written)
 * against ajv compiled once from the TES 1.1 OpenAPI document the project carries (issue 19, "One schema
 * per document"), on the task shapes real clients send: Galaxy's PulsarTesJobRunner (pydantic-tes),
 * Snakemake (py-tes 0.4), Nextflow (nf-ga4gh), and a minimal one. Prints documents per second of each.
 *
 * ajv does less than the hand-written validator: the OpenAPI schema knows no URL schemes, absolute paths,
 * NUL characters, backend_parameters keys or size bounds, and its answer is not the document to store, so
 * the ajv figure is a lower bound on the cost of a validator built on it.
 *
 * The TES schema declares no field nullable, while pydantic-tes (Galaxy) sends every unset field as an
 * explicit null, which the hand-written validator reads as "not given": ajv rejects Galaxy's documents
 * as they are. The ajv column therefore includes the pass that drops nulls first, as a validator built on
 * it would need.
 *
 * Env: BENCH_MS (time per measurement, default 1500).
 */
import Ajv from 'ajv';
import { validateTaskDocument } from '@constellation/tes';
import spec from '../../libs/tes/src/spec/tes-1.1.0.openapi.json';
import { NEXTFLOW_TASK, SNAKEMAKE_TASK } from '../../test/support/client-tasks';
import { pulsarTesTask } from '../../test/support/pulsar-tes-task';

const MS = Number(process.env.BENCH_MS ?? 1500);

const SHAPES: Record<string, unknown> = {
  'galaxy (pydantic-tes)': pulsarTesTask({
    jobId: '4242',
    galaxyUrl: 'https://usegalaxy.example.org',
    jobKey: 'a'.repeat(32),
    toolContainer: 'quay.io/biocontainers/samtools:1.17--h00cdaf9_0',
    resources: { cpu_cores: 4, ram_gb: 15.2, backend_parameters: { 'constellation.site': 'de-freiburg' } },
    inputs: [
      { name: 'dataset_1.dat', galaxyPath: '/galaxy/files/000/dataset_1.dat' },
      { name: 'dataset_2.dat', galaxyPath: '/galaxy/files/000/dataset_2.dat' },
    ],
    outputs: ['/galaxy/files/000/dataset_3.dat'],
    commandLine: 'samtools sort -o out.bam in.bam',
  }).document,
  'snakemake (py-tes 0.4)': SNAKEMAKE_TASK,
  'nextflow (nf-ga4gh)': NEXTFLOW_TASK,
  minimal: { executors: [{ image: 'alpine', command: ['echo', 'hello'] }] },
};

function perSecond(run: () => void): number {
  for (let i = 0; i < 2000; i++) run(); // warm-up: let V8 optimise both paths before timing
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(MS) * 1_000_000n;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 500; i++) run();
    n += 500;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

const compileStart = process.hrtime.bigint();
// OpenAPI 3.0 keywords (example, nullable, readOnly) are not JSON Schema ones: strict mode off; formats
// are not checked (the hand-written validator checks none either).
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
ajv.addSchema({ $id: 'tes', components: spec.components }, 'tes');
const ajvValidate = ajv.compile({ $ref: 'tes#/components/schemas/tesTask' });
const compileMs = Number(process.hrtime.bigint() - compileStart) / 1e6;

/** What ajv would need before it could accept pydantic-tes documents: null read as absent. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = withoutNulls(v);
  return out;
}

const rows: Array<Record<string, string>> = [];
for (const [name, doc] of Object.entries(SHAPES)) {
  // Both must accept every shape, or the comparison is of different things.
  if (!ajvValidate(withoutNulls(doc)))
    throw new Error(`ajv rejects ${name}: ${JSON.stringify(ajvValidate.errors)}`);
  validateTaskDocument(doc);
  // As the broker receives it: a fresh parse per request, so neither side profits from a cached object.
  const text = JSON.stringify(doc);
  const parseOnly = perSecond(() => JSON.parse(text));
  const hand = perSecond(() => validateTaskDocument(JSON.parse(text)));
  const viaAjv = perSecond(() => ajvValidate(withoutNulls(JSON.parse(text))));
  rows.push({
    shape: name,
    bytes: String(text.length),
    'parse only /s': parseOnly.toFixed(0),
    'hand-written /s': hand.toFixed(0),
    'ajv /s': viaAjv.toFixed(0),
    'ajv / hand-written': (viaAjv / hand).toFixed(2),
    'ajv rejects as sent': String(!ajvValidate(JSON.parse(text))),
  });
}
console.log(`ajv compile of tesTask from the TES 1.1 OpenAPI document: ${compileMs.toFixed(1)} ms (once)`);
console.table(rows);
