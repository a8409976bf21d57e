import type { NotificationRecipient } from './contract.js';

// Which channels each recipient's notifications go out on. Parsed from one setting, e.g.
//   MERCHANT=log+email,ACCOUNT_MANAGER=log,CUSTOMER=log+in-site
// Recipients not named keep the default (`log`), so a merchant can route one recipient without spelling out all.
// A pure leaf (its only import is the contract's types): src/platform/config.ts, the one parser of the
// environment, calls it, and nothing here imports configuration back.

/** Channels per recipient (each list non-empty, no duplicates, lower-case names). */
export type NotificationRouting = Readonly<Record<NotificationRecipient, readonly string[]>>;

/** Every recipient, in the order routing is described. */
export const NOTIFICATION_RECIPIENTS: readonly NotificationRecipient[] = ['MERCHANT', 'ACCOUNT_MANAGER', 'CUSTOMER'];

/** The channel every recipient uses unless routed otherwise: one log line per notification. */
export const LOG_CHANNEL_NAME = 'log';

/** Every recipient → `log`. */
export const DEFAULT_NOTIFICATION_ROUTING: NotificationRouting = Object.freeze({
  MERCHANT: Object.freeze([LOG_CHANNEL_NAME]),
  ACCOUNT_MANAGER: Object.freeze([LOG_CHANNEL_NAME]),
  CUSTOMER: Object.freeze([LOG_CHANNEL_NAME]),
});

/** A channel name: lower-case letters, digits, `-` and `_`, starting with a letter (it is part of a dedupe key). */
export const CHANNEL_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,39}$/;

/** Thrown by parseNotificationRouting; `problems` lists every issue, so configuration can report them all at once. */
export class NotificationRoutingError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid notification routing: ${problems.join('; ')}`);
    this.name = 'NotificationRoutingError';
  }
}

const isRecipient = (s: string): s is NotificationRecipient => (NOTIFICATION_RECIPIENTS as readonly string[]).includes(s);

/**
 * Parses `RECIPIENT=channel[+channel...]` entries separated by commas into a frozen routing. Blank text is the
 * default routing. Recipient names are case-insensitive; channel names are lower-cased. Throws
 * NotificationRoutingError listing every problem (unknown recipient, missing `=`, empty or invalid channel,
 * a recipient or channel named twice).
 */
export function parseNotificationRouting(text: string): NotificationRouting {
  const routing: Record<NotificationRecipient, readonly string[]> = { ...DEFAULT_NOTIFICATION_ROUTING };
  const problems: string[] = [];
  const seen = new Set<NotificationRecipient>();
  if (text.trim() === '') return DEFAULT_NOTIFICATION_ROUTING;

  for (const rawEntry of text.split(',')) {
    const entry = rawEntry.trim();
    if (entry === '') {
      problems.push('empty entry (two commas in a row, or a trailing comma)');
      continue;
    }
    const eq = entry.indexOf('=');
    if (eq < 0) {
      problems.push(`"${entry}": expected RECIPIENT=channel[+channel...]`);
      continue;
    }
    const name = entry.slice(0, eq).trim().toUpperCase();
    if (!isRecipient(name)) {
      problems.push(`unknown recipient "${entry.slice(0, eq).trim()}" (known: ${NOTIFICATION_RECIPIENTS.join(', ')})`);
      continue;
    }
    if (seen.has(name)) {
      problems.push(`${name} is routed twice`);
      continue;
    }
    seen.add(name);
    const channels: string[] = [];
    for (const rawChannel of entry.slice(eq + 1).split('+')) {
      const channel = rawChannel.trim().toLowerCase();
      if (channel === '') {
        problems.push(`${name}: empty channel name`);
      } else if (!CHANNEL_NAME_PATTERN.test(channel)) {
        problems.push(`${name}: invalid channel name "${rawChannel.trim()}" (letters, digits, '-' and '_', starting with a letter, at most 40)`);
      } else if (channels.includes(channel)) {
        problems.push(`${name}: channel "${channel}" listed twice`);
      } else {
        channels.push(channel);
      }
    }
    if (channels.length > 0) routing[name] = Object.freeze(channels);
  }
  if (problems.length > 0) throw new NotificationRoutingError(problems);
  return Object.freeze(routing);
}

/** Renders a routing back into its setting's syntax (for the startup config line). */
export function formatNotificationRouting(routing: NotificationRouting): string {
  return NOTIFICATION_RECIPIENTS.map((r) => `${r}=${routing[r].join('+')}`).join(',');
}

/** Channels the routing names that are not in `registered`: notifications for them would fail until registered. */
export function unregisteredChannels(routing: NotificationRouting, registered: readonly string[]): string[] {
  const named = new Set(NOTIFICATION_RECIPIENTS.flatMap((r) => routing[r]));
  return [...named].filter((c) => !registered.includes(c)).sort();
}
