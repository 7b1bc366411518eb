// Transactions as the studio shows them: states in display order, their tone, the open
// transactions of a partition as bands on its strip, and the list's filter.

import type { PartitionProducers, TransactionView } from './types';

/** Kafka's transaction states, open ones first (the order the API sorts by). */
export const TXN_STATES = ['Ongoing', 'PrepareCommit', 'PrepareAbort', 'PrepareEpochFence', 'Empty', 'CompleteCommit', 'CompleteAbort', 'Dead'] as const;

/** What each state means, for tooltips. */
export const TXN_STATE_MEANING: Record<string, string> = {
  Ongoing: 'open: partitions added, neither committed nor aborted yet',
  PrepareCommit: 'committing: the decision is logged, markers are being written',
  PrepareAbort: 'aborting: the decision is logged, markers are being written',
  PrepareEpochFence: 'a newer producer with this id fenced the old one; its transaction is being aborted',
  Empty: 'no transaction open (initialised, or the last one completed long ago)',
  CompleteCommit: 'the last transaction committed: every partition has its COMMIT marker',
  CompleteAbort: 'the last transaction aborted: every partition has its ABORT marker',
  Dead: 'expired: the transactional id is being removed',
};

export function isOpenTxn(state: string): boolean {
  return state === 'Ongoing' || state === 'PrepareCommit' || state === 'PrepareAbort';
}

export function txnTone(state: string): 'ok' | 'warn' | 'danger' | 'accent' | '' {
  switch (state) {
    case 'Ongoing':
      return 'accent';
    case 'PrepareCommit':
    case 'PrepareAbort':
    case 'PrepareEpochFence':
      return 'warn';
    case 'CompleteCommit':
      return 'ok';
    case 'CompleteAbort':
    case 'Dead':
      return 'danger';
    default:
      return '';
  }
}

/** Transactions whose id contains `search` (any case) and, if given, in `state`; order kept. */
export function filterTransactions(list: readonly TransactionView[], search: string, state: string): TransactionView[] {
  const s = search.trim().toLowerCase();
  return list.filter((t) => (!state || t.state === state) && (!s || t.transactional_id.toLowerCase().includes(s)));
}

/** An open transaction's records in one partition: from its first offset up to the high watermark. */
export interface OpenTxnBand {
  producer_id: number;
  start: number;
  end: number;
}

/** The open transactions of a partition, oldest first, each up to the high watermark. */
export function openTxnBands(p: PartitionProducers | undefined, highWatermark: number): OpenTxnBand[] {
  if (!p) return [];
  return p.producers
    .filter((x) => x.open_txn_start_offset !== null && x.open_txn_start_offset < highWatermark)
    .map((x) => ({ producer_id: x.producer_id, start: x.open_txn_start_offset as number, end: highWatermark }))
    .sort((a, b) => a.start - b.start || a.producer_id - b.producer_id);
}

/** "3.2 s", "4 min 05 s", "2 h 10 min": how long a transaction has been open. */
export function fmtAge(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** Whether an open transaction is past its timeout (the coordinator will abort it soon). */
export function pastTimeout(t: TransactionView): boolean {
  return t.open_for_ms !== null && t.timeout_ms !== null && t.open_for_ms > t.timeout_ms;
}
