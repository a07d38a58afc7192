import { fairShareOrder, ShareAccount, WaitingTask } from './fair-share';

const waiting = (spec: string): WaitingTask[] =>
  // "a1 a2 b1" -> tasks of submitter a and b queued in that order
  spec.split(' ').map((id, i) => ({ taskId: id, submitterId: id[0], queuedAt: 1000 + i }));

/** A task of the submitter its id starts with, queued at `queuedAt`, due at `dueAt` when given. */
const queued = (taskId: string, queuedAt: number, dueAt?: number): WaitingTask => ({
  taskId,
  submitterId: taskId[0],
  queuedAt,
  ...(dueAt === undefined ? {} : { dueAt }),
});

const account = (id: string, weight: number, running = 0, quota: number | null = null): ShareAccount => ({
  id,
  weight,
  running,
  quota,
});

describe('fairShareOrder', () => {
  it.each<{ name: string; tasks: WaitingTask[]; accounts: ShareAccount[]; order: string; held: string }>([
    {
      name: 'equal weights alternate',
      tasks: waiting('a1 a2 a3 b1 b2 b3'),
      accounts: [account('a', 1), account('b', 1)],
      order: 'a1 b1 a2 b2 a3 b3',
      held: '',
    },
    {
      name: 'weight 3:1 serves three to one',
      tasks: waiting('a1 a2 a3 a4 a5 a6 b1 b2'),
      accounts: [account('a', 3), account('b', 1)],
      order: 'a1 a2 a3 b1 a4 a5 a6 b2',
      held: '',
    },
    {
      name: 'running tasks count against the share',
      tasks: waiting('a1 a2 b1 b2'),
      accounts: [account('a', 1, 2), account('b', 1, 0)],
      order: 'b1 b2 a1 a2',
      held: '',
    },
    {
      name: 'quota holds the rest back',
      tasks: waiting('a1 a2 a3 b1'),
      accounts: [account('a', 10, 3, 5), account('b', 1)],
      order: 'a1 a2 b1',
      held: 'a3',
    },
    {
      name: 'submitter already at quota gets nothing',
      tasks: waiting('a1 b1'),
      accounts: [account('a', 1, 5, 5), account('b', 1)],
      order: 'b1',
      held: 'a1',
    },
    {
      name: 'oldest first within a submitter',
      tasks: [queued('a-late', 20), queued('a-early', 10)],
      accounts: [account('a', 1)],
      order: 'a-early a-late',
      held: '',
    },
    {
      name: 'earliest due first within a submitter: a short task overtakes a long one',
      tasks: [queued('a-long', 10, 10 + 3600), queued('a-short', 20, 20 + 30)],
      accounts: [account('a', 1)],
      order: 'a-short a-long',
      held: '',
    },
    {
      name: 'a long task is not overtaken by tasks due after it',
      tasks: [queued('a-long', 10, 10 + 3600), queued('a-later', 3000, 3000 + 700)],
      accounts: [account('a', 1)],
      order: 'a-long a-later',
      held: '',
    },
    {
      name: 'equal due: the older first',
      tasks: [queued('a-2', 20, 100), queued('a-1', 10, 100)],
      accounts: [account('a', 1)],
      order: 'a-1 a-2',
      held: '',
    },
    {
      name: 'without dueAt it is queuedAt (mixed)',
      tasks: [queued('a-due', 10, 50), queued('a-plain', 40)],
      accounts: [account('a', 1)],
      order: 'a-plain a-due',
      held: '',
    },
    {
      name: 'unknown submitter after everyone with a share',
      tasks: waiting('x1 a1 a2'),
      accounts: [account('a', 1)],
      order: 'a1 a2 x1',
      held: '',
    },
    {
      name: 'equal ratio: the larger weight, then the lower id',
      tasks: waiting('c1 b1 a1'),
      accounts: [account('a', 1), account('b', 1), account('c', 2)],
      order: 'c1 a1 b1',
      held: '',
    },
    { name: 'nothing waiting', tasks: [], accounts: [account('a', 1)], order: '', held: '' },
  ])('$name', ({ tasks, accounts, order, held }) => {
    const got = fairShareOrder(tasks, accounts);
    expect(got.order.join(' ')).toBe(order);
    expect(got.held.join(' ')).toBe(held);
  });

  it('serves in proportion to weight over a long queue', () => {
    const tasks = [...Array(300).keys()].map((i) => ({
      taskId: `t${i}`,
      submitterId: ['eu', 'fr', 'it'][i % 3],
      queuedAt: i,
    }));
    const first = fairShareOrder(tasks, [account('eu', 6), account('fr', 3), account('it', 1)]).order.slice(
      0,
      100,
    );
    const count = (s: string) =>
      first.filter((id) => Number(id.slice(1)) % 3 === ['eu', 'fr', 'it'].indexOf(s)).length;
    expect([count('eu'), count('fr'), count('it')]).toEqual([60, 30, 10]);
  });
});
