/** A grouped bar chart of mean turnaround per policy and scenario, as plain SVG (no plotting dependency). */

export interface PlotScenario {
  name: string;
  policies: { policy: string; mean: number; p95: number }[];
}

const COLOURS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function turnaroundSvg(scenarios: readonly PlotScenario[], title: string): string {
  const policies = scenarios[0]?.policies.map((p) => p.policy) ?? [];
  const barW = 14;
  const groupGap = 26;
  const groupW = policies.length * barW + groupGap;
  const left = 70;
  const top = 50;
  const plotH = 320;
  const width = left + scenarios.length * groupW + 170;
  const height = top + plotH + 90;
  const max = Math.max(...scenarios.flatMap((s) => s.policies.map((p) => p.mean)));
  const step = niceStep(max / 5);
  const yMax = Math.ceil(max / step) * step;
  const y = (v: number): number => top + plotH - (v / yMax) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="24" font-size="14" font-weight="bold">${esc(title)}</text>`,
  );
  for (let v = 0; v <= yMax + 1e-9; v += step) {
    out.push(
      `<line x1="${left}" x2="${left + scenarios.length * groupW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>`,
    );
  }
  out.push(
    `<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">mean turnaround (s)</text>`,
  );
  scenarios.forEach((s, g) => {
    const x0 = left + g * groupW + groupGap / 2;
    s.policies.forEach((p, i) => {
      const x = x0 + i * barW;
      out.push(
        `<rect x="${x}" y="${y(p.mean)}" width="${barW - 2}" height="${top + plotH - y(p.mean)}" fill="${COLOURS[i % COLOURS.length]}"><title>${esc(
          `${s.name} ${p.policy}: mean ${Math.round(p.mean)} s, p95 ${Math.round(p.p95)} s`,
        )}</title></rect>`,
      );
    });
    const [cap, util] = s.name.split('@');
    out.push(
      `<text x="${x0 + (policies.length * barW) / 2}" y="${top + plotH + 16}" text-anchor="middle">${esc(util ?? '')}</text>`,
      `<text x="${x0 + (policies.length * barW) / 2}" y="${top + plotH + 30}" text-anchor="middle" fill="#555">${esc(cap)}</text>`,
    );
  });
  policies.forEach((p, i) => {
    const ly = top + 10 + i * 18;
    const lx = left + scenarios.length * groupW + 20;
    out.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/>`,
      `<text x="${lx + 18}" y="${ly}">${esc(p)}</text>`,
    );
  });
  out.push(
    `<text x="${left}" y="${height - 20}" fill="#555">utilisation target / capacity scenario; means over seeds (see sim.json)</text>`,
    '</svg>',
  );
  return out.join('\n') + '\n';
}

function niceStep(raw: number): number {
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}
