/** One piece of due work: when it fell due (for the lag) and what doing it takes. */
export interface LaneTask {
  dueAt: string;
  /** Handles its own failures: a rejection is dropped here. */
  run(): Promise<void>;
}

interface Lane {
  queue: LaneTask[];
  running: Set<LaneTask>;
}

/**
 * Work split into lanes (one per payment provider, say), each with its own bounded concurrency,
 * all under one deadline. A lane whose calls hang keeps its own workers busy and no one else's:
 * the other lanes go on. Nothing starts after the deadline and every wait is bounded, so hung work
 * is left behind (its writes are conditional; whatever it did not finish is due again).
 */
export class WorkLanes {
  private readonly lanes = new Map<string, Lane>();
  private wake: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    /** After this (on the performance.now() clock) nothing new starts. */
    private readonly deadlineMs: number,
  ) {}

  outOfTime(): boolean {
    return performance.now() >= this.deadlineMs;
  }

  add(laneKey: string, task: LaneTask): void {
    let lane = this.lanes.get(laneKey);
    if (!lane) this.lanes.set(laneKey, (lane = { queue: [], running: new Set() }));
    lane.queue.push(task);
    this.startWork(lane);
  }

  /** Tasks not started yet, over all lanes. */
  queued(): number {
    return [...this.lanes.values()].reduce((sum, lane) => sum + lane.queue.length, 0);
  }

  /** Tasks started and not finished yet. */
  running(): number {
    return [...this.lanes.values()].reduce((sum, lane) => sum + lane.running.size, 0);
  }

  /** Tasks queued or still running (hung ones included). */
  unfinished(): LaneTask[] {
    return [...this.lanes.values()].flatMap((lane) => [...lane.queue, ...lane.running]);
  }

  /** Waits until `condition` holds (checked whenever a task finishes) or `graceMs` past the deadline. */
  async until(condition: () => boolean, graceMs = 0): Promise<void> {
    const stopAt = this.deadlineMs + graceMs;
    while (!condition() && performance.now() < stopAt) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, stopAt - performance.now());
        this.wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private startWork(lane: Lane): void {
    while (lane.running.size < this.concurrency && lane.queue.length > 0 && !this.outOfTime()) {
      const task = lane.queue.shift()!;
      lane.running.add(task);
      const done = () => {
        lane.running.delete(task);
        this.startWork(lane);
        for (const resolve of this.wake.splice(0)) resolve();
      };
      task.run().then(done, done);
    }
  }
}
