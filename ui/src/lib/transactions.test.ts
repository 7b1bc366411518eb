import { describe, expect, it } from 'vitest';
import { filterTransactions, fmtAge, isOpenTxn, openTxnBands, pastTimeout, txnTone } from './transactions';
import type { PartitionProducers, TransactionView } from './types';

function txn(id: string, state: string, extra: Partial<TransactionView> = {}): TransactionView {
  return { transactional_id: id, state, producer_id: 1, producer_epoch: 0, timeout_ms: 60_000, start_time_ms: 0, open_for_ms: null, partitions: [], coordinator: 1, error: null, ...extra };
}

function producers(starts: (number | null)[]): PartitionProducers {
  return {
    partition: 0, leader: 1, high_watermark: 20, last_stable_offset: null, error: null,
    producers: starts.map((s, i) => ({ producer_id: 10 + i, producer_epoch: 0, last_sequence: 0, last_timestamp_ms: 0, coordinator_epoch: 0, open_txn_start_offset: s })),
  };
}

describe('transactions', () => {
  it('bands open transactions from their first offset to the high watermark, oldest first', () => {
    expect(openTxnBands(producers([12, null, 5]), 20)).toEqual([
      { producer_id: 12, start: 5, end: 20 },
      { producer_id: 10, start: 12, end: 20 },
    ]);
    // A start the high watermark has not reached is not drawn (nothing readable there yet).
    expect(openTxnBands(producers([25]), 20)).toEqual([]);
    expect(openTxnBands(undefined, 20)).toEqual([]);
  });

  it('filters by id and state and keeps the order', () => {
    const list = [txn('orders-1', 'Ongoing'), txn('payments', 'CompleteCommit'), txn('Orders-2', 'CompleteAbort')];
    expect(filterTransactions(list, 'ORDERS', '').map((t) => t.transactional_id)).toEqual(['orders-1', 'Orders-2']);
    expect(filterTransactions(list, '', 'CompleteCommit').map((t) => t.transactional_id)).toEqual(['payments']);
  });

  it('tells open states and tones apart and formats ages', () => {
    expect(isOpenTxn('PrepareCommit')).toBe(true);
    expect(isOpenTxn('CompleteCommit')).toBe(false);
    expect(txnTone('CompleteAbort')).toBe('danger');
    expect(fmtAge(3200)).toBe('3.2 s');
    expect(fmtAge(245_000)).toBe('4 min 05 s');
    expect(fmtAge(7_800_000)).toBe('2 h 10 min');
    expect(fmtAge(null)).toBe('—');
    expect(pastTimeout(txn('t', 'Ongoing', { open_for_ms: 61_000 }))).toBe(true);
    expect(pastTimeout(txn('t', 'Ongoing', { open_for_ms: 1_000 }))).toBe(false);
  });
});
