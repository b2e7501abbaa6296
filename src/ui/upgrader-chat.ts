import type { HelperAccess } from '../chat/helper-access.js';
import type { ChatHub, Participant } from '../chat/hub.js';

/** The upgrader's chat with the site, and how helpers get in (null without a helper channel). */
export interface UpgraderChat {
  hub: ChatHub;
  me: Participant;
  access: HelperAccess | null;
}
