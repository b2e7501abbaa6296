// The plan of root-image-file.yaml, as `nightshift plan` prints it: what the upgrader reads
// before the night, so the phases, the typed disk serial and the boots must all be there.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunbook } from '../../src/runbook/load.js';
import { formatPlan, planOf } from '../../src/runbook/plan.js';

const file = path.resolve(import.meta.dirname, '../../runbooks/root-image-file.yaml');

describe('root-image-file.yaml plan', () => {
  it('prints the three phases, the destructive step and every reboot with its checks', async () => {
    const text = formatPlan(planOf(await loadRunbook(file)), 'runbooks/root-image-file.yaml');
    expect(text).toContain('Phase 1: The images partition, its boot script and the first image');
    expect(text).toContain('Phase 2: A new image, taken at the next boot');
    expect(text).toContain('Phase 3: Back to the previous image, as after a bad upgrade');
    expect(text).toMatch(/Partition and format the images disk +\(DESTRUCTIVE, type "IMAGES-0001" to run\)/);
    expect(text).toMatch(/Boot root\.img once +\(timeout 5m; on failure: fallback\)/);
    expect(text).toMatch(/Reboot into the new image +\(timeout 5m; on failure: fallback\)/);
    expect(text).toMatch(/Reboot into the previous image/);
    expect(text).toContain('/images/bin/make-root-image /images/root-new.img bookworm-2 1400M');
    expect(text).toContain('boot=imgroot');
    expect(text).toContain('Fallback (from any failure, or by hand)');
  });
});
