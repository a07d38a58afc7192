/**
 * How a placement record (dispatch's PlacementRecord: the decision and every candidate site with its terms)
 * is kept in `task.placement`, and how it is served again. Each candidate explains its three terms in words
 * (`sources`), and most candidates of one placement share those words ("no wait: the site has room for the
 * task", the same tool's history at every site), so the record stores each distinct text once, in
 * `source_texts`, and each candidate the positions of its three (`source_refs`: queue wait, transfer, run).
 * With the bench's 23 sites a record went from 8.3 KB of JSON to 4.9 KB: fewer bytes for node-postgres to
 * send and for PostgreSQL to parse into jsonb on every placement. Only the form changes: what
 * GET /api/v1/tasks/{id}/placement serves is the record as placement made it. The terms stay in the
 * candidates, where the take-back claim and the running-task estimates read them in SQL.
 */

type Json = Record<string, unknown>;

/** The keys of a candidate's sources, in the order of its `source_refs`. */
const TERMS = ['queueWaitS', 'transferS', 'runS'] as const;

/** The record as stored: sources named once. A record already stored this way is returned as it is. */
export function storedPlacement(record: Json): Json {
  const candidates = record.candidates;
  if (!Array.isArray(candidates) || !candidates.some(hasSources)) return record;
  const texts: string[] = [];
  const at = new Map<string, number>();
  const ref = (text: string): number => {
    let i = at.get(text);
    if (i === undefined) {
      i = texts.push(text) - 1;
      at.set(text, i);
    }
    return i;
  };
  // A loop that copies each candidate's other keys: rest and spread made this three times as costly, more
  // than the shorter text saves the broker (the saving is PostgreSQL's: less jsonb to parse).
  const stored: unknown[] = new Array(candidates.length);
  for (let n = 0; n < candidates.length; n++) {
    const c: unknown = candidates[n];
    if (!hasSources(c)) {
      stored[n] = c;
      continue;
    }
    const copy: Json = {};
    for (const key in c) if (key !== 'sources') copy[key] = c[key];
    copy.source_refs = TERMS.map((term) => ref(c.sources[term]));
    stored[n] = copy;
  }
  return { ...record, candidates: stored, source_texts: texts };
}

/** The record as placement made it; records stored before `source_texts` are served as they were stored. */
export function servedPlacement(stored: Json): Json {
  const texts = stored.source_texts;
  if (!Array.isArray(texts) || !Array.isArray(stored.candidates)) return stored;
  const { source_texts: _texts, ...record } = stored;
  const candidates = (stored.candidates as Json[]).map((c) => {
    const refs = c.source_refs;
    if (!Array.isArray(refs)) return c;
    const { source_refs: _refs, ...rest } = c;
    return { ...rest, sources: Object.fromEntries(TERMS.map((term, i) => [term, texts[refs[i]]])) };
  });
  return { ...record, candidates };
}

function hasSources(c: unknown): c is Json & { sources: Record<(typeof TERMS)[number], string> } {
  return typeof c === 'object' && c !== null && typeof (c as Json).sources === 'object';
}
