import { pageOf } from './task-views';

const task = (id: string, extra = ''): string => `{"id":"${id}","state":"QUEUED"${extra}}`;
const ID = (n: number): string => `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`;

describe('pageOf', () => {
  it('gives an empty page when nothing was found', () => {
    expect(pageOf({ tasks: null, found: 0 }, 10)).toEqual({ tasks: '' });
  });

  it('keeps a page that holds everything found, without a last id', () => {
    const tasks = [task(ID(3)), task(ID(2))].join(',\n');
    expect(pageOf({ tasks, found: 2 }, 2)).toEqual({ tasks });
    expect(pageOf({ tasks, found: 2 }, 5)).toEqual({ tasks });
  });

  it('drops the task past the page and names the last task of the page', () => {
    const tasks = [task(ID(3)), task(ID(2)), task(ID(1))].join(',\n');
    expect(pageOf({ tasks, found: 3 }, 2)).toEqual({
      tasks: [task(ID(3)), task(ID(2))].join(',\n'),
      nextAfterId: ID(2),
    });
  });

  it('handles a page of one', () => {
    const tasks = [task(ID(2)), task(ID(1))].join(',\n');
    expect(pageOf({ tasks, found: 2 }, 1)).toEqual({ tasks: task(ID(2)), nextAfterId: ID(2) });
  });

  it('is not misled by documents holding commas, braces and id keys', () => {
    // jsonb text escapes newlines in strings and writes none between tokens.
    const doc = `,"name": "a,{\\"id\\":\\"x\\"}\\n,", "backend_parameters": {"id": "y"}`;
    const tasks = [task(ID(3), doc), task(ID(2), doc), task(ID(1), doc)].join(',\n');
    const page = pageOf({ tasks, found: 3 }, 2);
    expect(page.nextAfterId).toBe(ID(2));
    expect(JSON.parse(`[${page.tasks}]`)).toHaveLength(2);
  });
});

describe('pageOf, for a page the byte budget cut', () => {
  it('keeps every task it holds and names the last one', () => {
    const tasks = [task(ID(3)), task(ID(2))].join(',\n');
    expect(pageOf({ tasks, found: 2, candidates: 5 }, 4)).toEqual({ tasks, nextAfterId: ID(2) });
  });

  it('moves on after a single task', () => {
    expect(pageOf({ tasks: task(ID(9)), found: 1, candidates: 2 }, 1)).toEqual({
      tasks: task(ID(9)),
      nextAfterId: ID(9),
    });
  });

  it('treats a page the budget did not cut as viewPageSql does', () => {
    const tasks = [task(ID(3)), task(ID(2)), task(ID(1))].join(',\n');
    expect(pageOf({ tasks, found: 3, candidates: 3 }, 2)).toEqual({
      tasks: [task(ID(3)), task(ID(2))].join(',\n'),
      nextAfterId: ID(2),
    });
    expect(pageOf({ tasks, found: 3, candidates: 3 }, 3)).toEqual({ tasks });
  });
});
