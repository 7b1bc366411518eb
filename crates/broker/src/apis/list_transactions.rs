//! ListTransactions (key 66, v0–v1, KIP-664): the transactions this broker coordinates, filtered
//! by state names and producer ids (an empty filter matches all) and, from v1 (KIP-994), by
//! duration: only transactions whose start is more than `duration_filter` ms ago (-1: no
//! filter), computed as Kafka does, from the stored start time.
//! State names the broker does not know are listed back in `unknown_state_filters`.
//! COORDINATOR_LOAD_IN_PROGRESS while any of its `__transaction_state` partitions loads. Admin
//! clients ask every broker and merge. v2 (KIP-1152, an id pattern) is not offered.

use super::{s, Ctx};
use crate::broker::now_ms;
use crate::coordinator::txn::TxnState;
use kafka_protocol::messages::list_transactions_response::TransactionState as ListedState;
use kafka_protocol::messages::{ListTransactionsRequest, ListTransactionsResponse, ProducerId, TransactionalId};

const STATES: [TxnState; 8] = [
    TxnState::Empty,
    TxnState::Ongoing,
    TxnState::PrepareCommit,
    TxnState::PrepareAbort,
    TxnState::CompleteCommit,
    TxnState::CompleteAbort,
    TxnState::Dead,
    TxnState::PrepareEpochFence,
];

pub(crate) fn handle(ctx: &Ctx, version: i16, req: ListTransactionsRequest) -> ListTransactionsResponse {
    let mut resp = ListTransactionsResponse::default();
    let mut states = Vec::new();
    for f in &req.state_filters {
        match STATES.iter().find(|st| st.name() == f.as_str()) {
            Some(st) => states.push(*st),
            None => resp.unknown_state_filters.push(f.clone()),
        }
    }
    let producers: Vec<i64> = req.producer_id_filters.iter().map(|p| p.0).collect();
    let min_duration_ms = if version >= 1 { req.duration_filter } else { -1 };
    let now = now_ms();
    match ctx.broker.txns.list() {
        Err(code) => resp.error_code = code,
        Ok(all) => {
            resp.transaction_states = all
                .into_iter()
                .filter(|m| states.is_empty() || states.contains(&m.state))
                .filter(|m| producers.is_empty() || producers.contains(&m.producer_id))
                .filter(|m| min_duration_ms < 0 || now - m.start_ms > min_duration_ms)
                .map(|m| {
                    let mut t = ListedState::default();
                    t.transactional_id = TransactionalId(s(m.transactional_id));
                    t.producer_id = ProducerId(m.producer_id);
                    t.transaction_state = s(m.state.name());
                    t
                })
                .collect();
        }
    }
    resp
}
