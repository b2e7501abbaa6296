// Each chunk of a step's output arrives in Buffers of its own (the socket's read, ssh2's packet)
// whose memory lies outside V8's heap, in malloc's, and is given back only when a collection of
// the young generation finds their objects dead. V8 starts one when its young generation is full,
// not for memory outside it: in a flood of long lines little else is allocated, and tens of MiB
// of dead Buffers piled up between collections. One asked for every 512 KiB received took the
// peaks of floods of 1,000 and 16,000 characters a line and of one endless line from 136, 156
// and 146 MiB to 116, 117 and 116, and their time from 18-21 to 17 s: a collection of a young
// generation of garbage costs well under a millisecond, and the memory used again is in the
// CPU's caches still (every 4 MiB: 125, 125 and 136 MiB; every 256 KiB: no lower, slower).
import v8 from 'node:v8';
import vm from 'node:vm';

type Collect = (options: { type: 'minor' }) => void;

/** V8's own gc(), from a context of its own: the program's global scope does not get it. */
function youngCollector(): Collect | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as Collect;
  } catch {
    return null;
  }
}

/** Asks V8 for a young-generation collection once every `everyBytes` of output received. */
export class YoungCollection {
  private bytes = 0;
  private collect: Collect | null | undefined;

  constructor(
    private readonly everyBytes = 2 ** 19,
    collect?: Collect,
  ) {
    this.collect = collect;
  }

  received(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes < this.everyBytes) return;
    this.bytes = 0;
    if (this.collect === undefined) this.collect = youngCollector();
    this.collect?.({ type: 'minor' });
  }
}

/** One count for every step's output: 200 hosts printing at once are one flood. */
export const outputCollection = new YoungCollection();
