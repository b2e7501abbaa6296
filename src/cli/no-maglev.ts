// nightshift runs without Maglev, V8's middle compiler. It compiled on, in background threads,
// all through a flood or a rollout, and the memory it held stayed (in a flood, malloc's
// per-thread arenas kept their pages). Side by side without it: 2,000 steps peaked at 147
// against 165 MiB, a 1 GiB upload in the full-screen view at 112 against 121 MiB,
// 16,000-character lines at 118 against 124 MiB, while the flood, keys, start, step and upload
// times did not move: what is hot is still compiled, by Turbofan. Set as the program starts, not
// on bin/nightshift.js's first line: a Node too old for nightshift (Debian 12's 18) refuses an
// option it does not know before the version check can say what is wrong.
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-maglev');
