// The upload step: SFTP to the host with progress on screen (and a line every few seconds
// in the log of notes), the sha256 checked on the host, a cut transfer resumed.
import type { StepOutput } from '../output/step-output.js';
import type { UploadProgress } from '../remote/transfer.js';
import { formatDuration } from '../runbook/duration.js';
import type { UploadStep } from '../runbook/types.js';
import { formatBytes } from '../text/bytes.js';
import type { RemoteHosts } from './remote-hosts.js';

const NOTE_EVERY_MS = 3000;

export async function uploadStep(step: UploadStep, hosts: RemoteHosts, output: StepOutput, signal: AbortSignal): Promise<void> {
  let lastNote = 0;
  let lastPhase = '';
  const result = await hosts.upload(step.host, step.localPath, step.remotePath, {
    signal,
    ...(step.mode !== undefined ? { mode: step.mode } : {}),
    onNotice: (text) => output.note(text),
    onProgress: (progress) => {
      output.progress = { fraction: progress.total > 0 ? progress.bytes / progress.total : null, text: describeProgress(progress) };
      const now = Date.now();
      if (progress.phase !== lastPhase || now - lastNote >= NOTE_EVERY_MS) {
        lastNote = now;
        lastPhase = progress.phase;
        output.note(`nightshift: ${describeProgress(progress)}`);
      }
    },
  });
  output.progress = { fraction: 1, text: `uploaded ${formatBytes(result.bytes)}, sha256 verified on ${step.host}` };
  output.note(
    `nightshift: ${step.localPath} → ${step.host}:${step.remotePath}: ${formatBytes(result.bytes)}, sha256 ${result.sha256} verified on the host` +
      (result.resumedFrom > 0 ? ` (resumed after ${formatBytes(result.resumedFrom)})` : ''),
  );
}

export function describeProgress(progress: UploadProgress): string {
  const percent = progress.total > 0 ? `${Math.floor((progress.bytes / progress.total) * 100)}% ` : '';
  const amount = `${formatBytes(progress.bytes)} of ${formatBytes(progress.total)}`;
  const rate = progress.bytesPerSecond > 0 ? `, ${formatBytes(progress.bytesPerSecond)}/s` : '';
  // Nothing left is said by 100%: "0ms left" would only be noise.
  const eta = progress.etaMs !== null && progress.etaMs > 0 ? `, ${formatDuration(progress.etaMs)} left` : '';
  const resumed = progress.resumedFrom > 0 ? `, resumed after ${formatBytes(progress.resumedFrom)}` : '';
  return `${progress.phase} ${percent}(${amount}${rate}${eta}${resumed})`;
}
