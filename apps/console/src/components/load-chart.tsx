import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const HEIGHT = 160;

/** Running tasks over time, with the admission limit as a dashed line; the box keeps its height while loading. */
export function LoadChart({ samples, limit }: { samples: { at: string; running: number }[]; limit: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = samples.map((s) => Date.parse(s.at) / 1000);
    const plot = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: HEIGHT,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { y: { range: (_u, _min, max) => [0, Math.max(limit, max, 1) * 1.1] } },
        axes: [{}, { size: 40 }],
        series: [
          {},
          { label: 'running', stroke: '#0b5cad', fill: 'rgba(11, 92, 173, 0.15)', width: 2 },
          { label: 'limit', stroke: '#b42318', dash: [6, 4], width: 1, points: { show: false } },
        ],
      },
      [xs, samples.map((s) => s.running), samples.map(() => limit)],
      el,
    );
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [samples, limit]);
  const peak = Math.max(0, ...samples.map((s) => s.running));
  return (
    <div
      ref={box}
      className="load-chart"
      style={{ minHeight: HEIGHT }}
      role="img"
      aria-label={`Running tasks over the last hours: at most ${peak} of a limit of ${limit}; now ${samples[samples.length - 1]?.running ?? 0}`}
    />
  );
}
