// A task's priority from its policy, how negative the post is, and how many people see its author.
//
//   priority = clamp(basePriority + negativity + reach, 0, 100), rounded
//   negativity = 15 × max(0, −comparative), at most 30     (comparative −2 or lower: +30)
//   reach      = 5 × log10(1 + followers), at most 30      (1,000 followers: +15; 1,000,000: +30)
//
// A neutral post from an unknown author keeps the policy's base priority.

export const MAX_PRIORITY = 100;

export function taskPriority(basePriority: number, comparativeSentiment: number, reach: number | undefined): number {
  const negativity = Math.min(30, 15 * Math.max(0, -comparativeSentiment));
  const audience = Math.min(30, 5 * Math.log10(1 + Math.max(0, reach ?? 0)));
  return Math.max(0, Math.min(MAX_PRIORITY, Math.round(basePriority + negativity + audience)));
}
