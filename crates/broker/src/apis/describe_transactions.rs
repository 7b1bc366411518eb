//! DescribeTransactions (key 65, v0, KIP-664): the coordinator's view of each transactional id —
//! state, timeout, start time, producer id and epoch, and the partitions of the ongoing
//! transaction. What `kafka-transactions.sh describe` shows. Per id: NOT_COORDINATOR when this
//! broker does not coordinate it, COORDINATOR_LOAD_IN_PROGRESS while its partition loads,
//! TRANSACTIONAL_ID_NOT_FOUND when the coordinator has never seen it.

use super::{s, Ctx};
use crate::codes;
use crate::coordinator::txn_coordinator::by_topic;
use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId, TopicName};

pub(crate) fn handle(ctx: &Ctx, _version: i16, req: DescribeTransactionsRequest) -> DescribeTransactionsResponse {
    let mut resp = DescribeTransactionsResponse::default();
    for id in req.transactional_ids {
        let mut st = TransactionState::default();
        st.transactional_id = id.clone();
        st.producer_id = ProducerId(-1);
        st.producer_epoch = -1;
        st.transaction_start_time_ms = -1;
        st.transaction_state = s("");
        match ctx.broker.txns.describe(&id) {
            Err(code) => st.error_code = code,
            Ok(None) => st.error_code = codes::TRANSACTIONAL_ID_NOT_FOUND,
            Ok(Some(m)) => {
                st.transaction_state = s(m.state.name());
                st.transaction_timeout_ms = m.timeout_ms;
                st.transaction_start_time_ms = m.start_ms;
                st.producer_id = ProducerId(m.producer_id);
                st.producer_epoch = m.producer_epoch;
                st.topics = by_topic(&m.partitions)
                    .into_iter()
                    .map(|(topic, partitions)| {
                        let mut t = TopicData::default();
                        t.topic = TopicName(s(topic));
                        t.partitions = partitions;
                        t
                    })
                    .collect();
            }
        }
        resp.transaction_states.push(st);
    }
    resp
}
