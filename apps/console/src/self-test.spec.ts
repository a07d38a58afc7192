import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { PendingSelfTest, SelfTestCard, SelfTestReport } from './components/self-test';
import { selfTestsOffered, selfTestSummary, type SelfTestResult } from './self-test';
import type { Site } from './types';
import recorded from './fixtures/self-test-failed.json';

// A response recorded from POST /api/v1/sites/{id}/test, whose branch is not merged yet.
const failed = recorded as SelfTestResult;
const passed: SelfTestResult = { ...failed, ok: true, steps: failed.steps.map((s) => ({ ...s, ok: true })) };

const site = (extra: Partial<Site> = {}) => ({ id: 's1', display_name: 'CSC Espoo', ...extra }) as Site;
const html = (el: ReturnType<typeof createElement>) => renderToStaticMarkup(el);
const rows = (markup: string) =>
  [...markup.matchAll(/<tr data-step="([^"]+)" data-ok="(true|false)">(.*?)<\/tr>/g)].map((m) => ({
    step: m[1],
    ok: m[2],
    cells: [...m[3].matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) =>
      c[1].replace(/<[^>]+>/g, '').replace(/&#x27;/g, "'"),
    ),
  }));

describe('self-test summary', () => {
  it('names the first failed step', () => {
    expect(selfTestSummary(failed)).toBe('failed at run, 4 of 5 steps passed');
    expect(selfTestSummary(passed)).toBe('passed, 5 of 5 steps');
  });

  it('tells a broker with self-tests by the field, even when null', () => {
    expect(selfTestsOffered(site({ last_self_test: null }))).toBe(true);
    expect(selfTestsOffered(site())).toBe(false);
  });
});

describe('SelfTestReport', () => {
  it('shows each step with its result, time and detail', () => {
    const markup = html(createElement(SelfTestReport, { result: failed, caption: 'Steps' }));
    expect(rows(markup)).toEqual([
      { step: 'reach', ok: 'true', cells: ['reach', 'ok', '0.1 s', failed.steps[0].detail] },
      { step: 'authenticate', ok: 'true', cells: ['authenticate', 'ok', '0 s', failed.steps[1].detail] },
      { step: 'submit', ok: 'true', cells: ['submit', 'ok', '0.3 s', failed.steps[2].detail] },
      { step: 'run', ok: 'false', cells: ['run', 'failed', '12 s', failed.steps[3].detail] },
      { step: 'cancel', ok: 'true', cells: ['cancel', 'ok', '0.1 s', failed.steps[4].detail] },
    ]);
    expect(markup).toContain('<strong>Failed</strong>: failed at run, 4 of 5 steps passed');
    expect(markup).toContain('took 13 s'); // 12.5 s, rounded
  });
});

describe('SelfTestCard', () => {
  it('offers the run button to those who may run it, with the last result', () => {
    const markup = html(
      createElement(SelfTestCard, { site: site({ last_self_test: failed }), canRun: true }),
    );
    expect(markup).toContain('>Run self-test</button>');
    expect(rows(markup)).toHaveLength(5);
    expect(markup).toContain('Steps of the last self-test');
  });

  it('shows the last result without the button to others, and says when none ran', () => {
    const markup = html(
      createElement(SelfTestCard, { site: site({ last_self_test: passed }), canRun: false }),
    );
    expect(markup).not.toContain('Run self-test');
    expect(markup).toContain('<strong>Passed</strong>');
    expect(
      html(createElement(SelfTestCard, { site: site({ last_self_test: null }), canRun: true })),
    ).toContain('No self-test has run yet.');
  });

  it('is not there at all on a broker without self-tests', () => {
    expect(html(createElement(SelfTestCard, { site: site(), canRun: true }))).toBe('');
  });
});

describe('the approvals list', () => {
  it("shows a pending site's last self-test, folded", () => {
    const markup = html(createElement(PendingSelfTest, { site: site({ last_self_test: failed }) }));
    expect(markup).toMatch(
      /^<details class="pending-self-test"><summary>Last self-test: failed at run, 4 of 5 steps passed<\/summary>/,
    );
    expect(rows(markup)).toHaveLength(5);
    expect(html(createElement(PendingSelfTest, { site: site({ last_self_test: null }) }))).toContain(
      'No self-test',
    );
    expect(html(createElement(PendingSelfTest, { site: site() }))).toBe('');
  });
});
