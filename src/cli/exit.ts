// nightshift's exit statuses, as `nightshift run --help` lists them.
export const EXIT = {
  completed: 0,
  error: 1,
  usage: 2,
  fellBack: 3,
  paused: 4,
  interrupted: 130,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];
