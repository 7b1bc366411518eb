//! Protocol behaviour tests against a real broker over TCP, with requests encoded by the
//! `kafka-protocol` crate: every advertised version of every API round-trips, the KIP-511
//! fallback, acks=0, pipelining, long-poll, frame limits and hostile bytes, the data-dir lock,
//! and restart persistence.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Decodable;
use oxbow_broker::{Broker, BrokerConfig, BrokerHandle, SUPPORTED_APIS};

mod common;
use common::*;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

async fn start(dir: &std::path::Path) -> BrokerHandle {
    let cfg = BrokerConfig { port: 0, data_dir: dir.to_path_buf(), ..Default::default() };
    Broker::start(cfg).await.expect("broker starts")
}

/// A plausible request for `key` at `version`, with fields set only where the version has them.
fn sample_request(key: ApiKey, v: i16, topic: &str, topic_id: uuid::Uuid) -> RequestKind {
    match key {
        ApiKey::Produce => produce_req(topic, 0, 1, batch(&["a"], -1, -1)),
        ApiKey::Fetch => fetch_req(v, topic, topic_id, 0, 0, 0),
        ApiKey::ListOffsets => {
            let mut p = list_offsets_request::ListOffsetsPartition::default();
            p.partition_index = 0;
            p.timestamp = -1;
            let mut t = list_offsets_request::ListOffsetsTopic::default();
            t.name = TopicName(s(topic));
            t.partitions = vec![p];
            let mut r = ListOffsetsRequest::default();
            r.replica_id = BrokerId(-1);
            r.topics = vec![t];
            RequestKind::ListOffsets(r)
        }
        ApiKey::Metadata => {
            let mut t = metadata_request::MetadataRequestTopic::default();
            t.name = Some(TopicName(s(topic)));
            let mut r = MetadataRequest::default();
            r.topics = Some(vec![t]);
            if (8..=10).contains(&v) {
                r.include_cluster_authorized_operations = true;
            }
            if v >= 8 {
                r.include_topic_authorized_operations = true;
            }
            RequestKind::Metadata(r)
        }
        ApiKey::OffsetCommit => {
            let mut p = offset_commit_request::OffsetCommitRequestPartition::default();
            p.partition_index = 0;
            p.committed_offset = 1;
            p.committed_metadata = Some(s("meta"));
            let mut t = offset_commit_request::OffsetCommitRequestTopic::default();
            t.name = TopicName(s(topic));
            t.partitions = vec![p];
            let mut r = OffsetCommitRequest::default();
            r.group_id = GroupId(s("simple-group"));
            r.generation_id_or_member_epoch = -1;
            r.topics = vec![t];
            RequestKind::OffsetCommit(r)
        }
        ApiKey::OffsetFetch => {
            let mut r = OffsetFetchRequest::default();
            if v >= 8 {
                let mut g = offset_fetch_request::OffsetFetchRequestGroup::default();
                g.group_id = GroupId(s("simple-group"));
                g.topics = None;
                if v >= 9 {
                    g.member_epoch = -1;
                }
                r.groups = vec![g];
            } else {
                r.group_id = GroupId(s("simple-group"));
                let mut t = offset_fetch_request::OffsetFetchRequestTopic::default();
                t.name = TopicName(s(topic));
                t.partition_indexes = vec![0];
                r.topics = Some(vec![t]);
            }
            RequestKind::OffsetFetch(r)
        }
        ApiKey::FindCoordinator => {
            let mut r = FindCoordinatorRequest::default();
            if v >= 4 {
                r.coordinator_keys = vec![s("g1")];
            } else {
                r.key = s("g1");
            }
            RequestKind::FindCoordinator(r)
        }
        ApiKey::JoinGroup => {
            let mut p = join_group_request::JoinGroupRequestProtocol::default();
            p.name = s("range");
            p.metadata = Bytes::from_static(b"\x00\x01");
            let mut r = JoinGroupRequest::default();
            r.group_id = GroupId(s(&format!("jg-{v}")));
            r.session_timeout_ms = 10_000;
            if v >= 1 {
                r.rebalance_timeout_ms = 10_000;
            }
            r.protocol_type = s("consumer");
            r.protocols = vec![p];
            RequestKind::JoinGroup(r)
        }
        ApiKey::Heartbeat => {
            let mut r = HeartbeatRequest::default();
            r.group_id = GroupId(s("nope"));
            r.member_id = s("m");
            RequestKind::Heartbeat(r)
        }
        ApiKey::LeaveGroup => {
            let mut r = LeaveGroupRequest::default();
            r.group_id = GroupId(s("nope"));
            if v >= 3 {
                let mut m = leave_group_request::MemberIdentity::default();
                m.member_id = s("m");
                r.members = vec![m];
            } else {
                r.member_id = s("m");
            }
            RequestKind::LeaveGroup(r)
        }
        ApiKey::SyncGroup => {
            let mut r = SyncGroupRequest::default();
            r.group_id = GroupId(s("nope"));
            r.member_id = s("m");
            RequestKind::SyncGroup(r)
        }
        ApiKey::DescribeGroups => {
            let mut r = DescribeGroupsRequest::default();
            r.groups = vec![GroupId(s("simple-group")), GroupId(s("missing"))];
            if v >= 3 {
                r.include_authorized_operations = true;
            }
            RequestKind::DescribeGroups(r)
        }
        ApiKey::ListGroups => RequestKind::ListGroups(ListGroupsRequest::default()),
        ApiKey::ApiVersions => {
            let mut r = ApiVersionsRequest::default();
            if v >= 3 {
                r.client_software_name = s("oxbow-test");
                r.client_software_version = s("1.0");
            }
            RequestKind::ApiVersions(r)
        }
        ApiKey::CreateTopics => {
            let mut c = create_topics_request::CreatableTopicConfig::default();
            c.name = s("retention.ms");
            c.value = Some(s("1000"));
            let mut t = create_topics_request::CreatableTopic::default();
            t.name = TopicName(s(&format!("created-v{v}")));
            t.num_partitions = -1;
            t.replication_factor = -1;
            t.configs = vec![c];
            let mut r = CreateTopicsRequest::default();
            r.topics = vec![t];
            r.validate_only = true;
            RequestKind::CreateTopics(r)
        }
        ApiKey::DeleteTopics => {
            let mut r = DeleteTopicsRequest::default();
            if v >= 6 {
                let mut t = delete_topics_request::DeleteTopicState::default();
                t.name = Some(TopicName(s("does-not-exist")));
                r.topics = vec![t];
            } else {
                r.topic_names = vec![TopicName(s("does-not-exist"))];
            }
            RequestKind::DeleteTopics(r)
        }
        ApiKey::DeleteRecords => {
            let mut p = delete_records_request::DeleteRecordsPartition::default();
            p.partition_index = 0;
            p.offset = 0;
            let mut t = delete_records_request::DeleteRecordsTopic::default();
            t.name = TopicName(s(topic));
            t.partitions = vec![p];
            let mut r = DeleteRecordsRequest::default();
            r.topics = vec![t];
            RequestKind::DeleteRecords(r)
        }
        ApiKey::InitProducerId => {
            let mut r = InitProducerIdRequest::default();
            // Idempotent producers send a null transactional id (an empty one is INVALID_REQUEST).
            r.transactional_id = None;
            r.transaction_timeout_ms = 60_000;
            RequestKind::InitProducerId(r)
        }
        ApiKey::OffsetForLeaderEpoch => {
            let mut p = offset_for_leader_epoch_request::OffsetForLeaderPartition::default();
            p.partition = 0;
            p.leader_epoch = 0;
            p.current_leader_epoch = -1;
            let mut t = offset_for_leader_epoch_request::OffsetForLeaderTopic::default();
            t.topic = TopicName(s(topic));
            t.partitions = vec![p];
            let mut r = OffsetForLeaderEpochRequest::default();
            r.topics = vec![t];
            RequestKind::OffsetForLeaderEpoch(r)
        }
        ApiKey::DescribeConfigs => {
            let mut t = describe_configs_request::DescribeConfigsResource::default();
            t.resource_type = 2;
            t.resource_name = s(topic);
            let mut b = describe_configs_request::DescribeConfigsResource::default();
            b.resource_type = 4;
            b.resource_name = s("1");
            let mut r = DescribeConfigsRequest::default();
            r.resources = vec![t, b];
            r.include_synonyms = true;
            if v >= 3 {
                r.include_documentation = true;
            }
            RequestKind::DescribeConfigs(r)
        }
        ApiKey::AlterConfigs => {
            let mut c = alter_configs_request::AlterableConfig::default();
            c.name = s("retention.ms");
            c.value = Some(s("86400000"));
            let mut res = alter_configs_request::AlterConfigsResource::default();
            res.resource_type = 2;
            res.resource_name = s(topic);
            res.configs = vec![c];
            let mut r = AlterConfigsRequest::default();
            r.resources = vec![res];
            r.validate_only = true;
            RequestKind::AlterConfigs(r)
        }
        ApiKey::IncrementalAlterConfigs => {
            let mut c = incremental_alter_configs_request::AlterableConfig::default();
            c.name = s("cleanup.policy");
            c.config_operation = 2;
            c.value = Some(s("compact"));
            let mut res = incremental_alter_configs_request::AlterConfigsResource::default();
            res.resource_type = 2;
            res.resource_name = s(topic);
            res.configs = vec![c];
            let mut r = IncrementalAlterConfigsRequest::default();
            r.resources = vec![res];
            r.validate_only = true;
            RequestKind::IncrementalAlterConfigs(r)
        }
        ApiKey::DescribeLogDirs => RequestKind::DescribeLogDirs(DescribeLogDirsRequest::default()),
        ApiKey::CreatePartitions => {
            let mut t = create_partitions_request::CreatePartitionsTopic::default();
            t.name = TopicName(s(topic));
            t.count = 1;
            let mut r = CreatePartitionsRequest::default();
            r.topics = vec![t];
            r.validate_only = true;
            RequestKind::CreatePartitions(r)
        }
        ApiKey::DescribeCluster => {
            let mut r = DescribeClusterRequest::default();
            r.include_cluster_authorized_operations = true;
            if v >= 1 {
                r.endpoint_type = 1;
            }
            RequestKind::DescribeCluster(r)
        }
        ApiKey::ElectLeaders => {
            let mut t = elect_leaders_request::TopicPartitions::default();
            t.topic = TopicName(s(topic));
            t.partitions = vec![0];
            let mut r = ElectLeadersRequest::default();
            r.topic_partitions = Some(vec![t]);
            r.timeout_ms = 5000;
            RequestKind::ElectLeaders(r)
        }
        ApiKey::AlterPartitionReassignments => {
            let mut p = alter_partition_reassignments_request::ReassignablePartition::default();
            p.partition_index = 0;
            p.replicas = Some(vec![BrokerId(1)]);
            let mut t = alter_partition_reassignments_request::ReassignableTopic::default();
            t.name = TopicName(s(topic));
            t.partitions = vec![p];
            let mut r = AlterPartitionReassignmentsRequest::default();
            r.topics = vec![t];
            r.timeout_ms = 5000;
            r.allow_replication_factor_change = true;
            RequestKind::AlterPartitionReassignments(r)
        }
        ApiKey::ListPartitionReassignments => {
            RequestKind::ListPartitionReassignments(ListPartitionReassignmentsRequest::default())
        }
        ApiKey::DeleteGroups => {
            let mut r = DeleteGroupsRequest::default();
            r.groups_names = vec![GroupId(s(&format!("never-{v}")))];
            RequestKind::DeleteGroups(r)
        }
        ApiKey::OffsetDelete => {
            let mut p = offset_delete_request::OffsetDeleteRequestPartition::default();
            p.partition_index = 0;
            let mut t = offset_delete_request::OffsetDeleteRequestTopic::default();
            t.name = TopicName(s(topic));
            t.partitions = vec![p];
            let mut r = OffsetDeleteRequest::default();
            r.group_id = GroupId(s("simple-group"));
            r.topics = vec![t];
            RequestKind::OffsetDelete(r)
        }
        ApiKey::DescribeProducers => {
            let mut t = describe_producers_request::TopicRequest::default();
            t.name = TopicName(s(topic));
            t.partition_indexes = vec![0];
            let mut r = DescribeProducersRequest::default();
            r.topics = vec![t];
            RequestKind::DescribeProducers(r)
        }
        ApiKey::AddPartitionsToTxn => {
            let mut t = add_partitions_to_txn_request::AddPartitionsToTxnTopic::default();
            t.name = TopicName(s(topic));
            t.partitions = vec![0];
            let mut r = AddPartitionsToTxnRequest::default();
            if v >= 4 {
                let mut txn = add_partitions_to_txn_request::AddPartitionsToTxnTransaction::default();
                txn.transactional_id = TransactionalId(s("sample-tx"));
                txn.producer_id = ProducerId(1);
                txn.verify_only = true;
                txn.topics = vec![t];
                r.transactions = vec![txn];
            } else {
                r.v3_and_below_transactional_id = TransactionalId(s("sample-tx"));
                r.v3_and_below_producer_id = ProducerId(1);
                r.v3_and_below_topics = vec![t];
            }
            RequestKind::AddPartitionsToTxn(r)
        }
        ApiKey::AddOffsetsToTxn => {
            let mut r = AddOffsetsToTxnRequest::default();
            r.transactional_id = TransactionalId(s("sample-tx"));
            r.producer_id = ProducerId(1);
            r.group_id = GroupId(s("simple-group"));
            RequestKind::AddOffsetsToTxn(r)
        }
        ApiKey::EndTxn => {
            let mut r = EndTxnRequest::default();
            r.transactional_id = TransactionalId(s("sample-tx"));
            r.producer_id = ProducerId(1);
            r.committed = true;
            RequestKind::EndTxn(r)
        }
        ApiKey::WriteTxnMarkers => {
            let mut t = write_txn_markers_request::WritableTxnMarkerTopic::default();
            t.name = TopicName(s(topic));
            t.partition_indexes = vec![2];
            let mut m = write_txn_markers_request::WritableTxnMarker::default();
            m.producer_id = ProducerId(999);
            m.topics = vec![t];
            let mut r = WriteTxnMarkersRequest::default();
            r.markers = vec![m];
            RequestKind::WriteTxnMarkers(r)
        }
        ApiKey::TxnOffsetCommit => {
            let mut p = txn_offset_commit_request::TxnOffsetCommitRequestPartition::default();
            p.partition_index = 0;
            p.committed_offset = 1;
            let mut t = txn_offset_commit_request::TxnOffsetCommitRequestTopic::default();
            t.name = TopicName(s(topic));
            t.partitions = vec![p];
            let mut r = TxnOffsetCommitRequest::default();
            r.transactional_id = TransactionalId(s("sample-tx"));
            r.group_id = GroupId(s("txn-sample-group"));
            r.producer_id = ProducerId(1);
            r.generation_id = -1;
            r.topics = vec![t];
            RequestKind::TxnOffsetCommit(r)
        }
        ApiKey::DescribeTransactions => {
            let mut r = DescribeTransactionsRequest::default();
            r.transactional_ids = vec![TransactionalId(s("sample-tx"))];
            RequestKind::DescribeTransactions(r)
        }
        ApiKey::ListTransactions => RequestKind::ListTransactions(ListTransactionsRequest::default()),
        ApiKey::ConsumerGroupHeartbeat => {
            // A member joining (epoch 0) under a client-made id, one per version.
            let mut r = ConsumerGroupHeartbeatRequest::default();
            r.group_id = GroupId(s("cg-sample"));
            r.member_id = s(&format!("sample-member-v{v}"));
            r.member_epoch = 0;
            r.rebalance_timeout_ms = 30_000;
            r.subscribed_topic_names = Some(vec![TopicName(s(topic))]);
            RequestKind::ConsumerGroupHeartbeat(r)
        }
        ApiKey::ConsumerGroupDescribe => {
            let mut r = ConsumerGroupDescribeRequest::default();
            r.group_ids = vec![GroupId(s("cg-sample"))];
            RequestKind::ConsumerGroupDescribe(r)
        }
        other => panic!("no sample request for {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_advertised_version_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path()).await;
    let mut c = Conn::new(h.local_addr()).await;
    let id = create_topic(&mut c, "t", 3).await;
    let ResponseKind::Produce(p) =
        c.call(produce_req("t", 0, -1, batch(&["x", "y"], -1, -1)), ApiKey::Produce, 9).await
    else {
        panic!()
    };
    assert_eq!(p.responses[0].partition_responses[0].error_code, 0);
    // Clients find the coordinator before any group request: that creates __consumer_offsets,
    // whose partitions this broker then loads (ListGroups says COORDINATOR_LOAD_IN_PROGRESS until done).
    let ResponseKind::FindCoordinator(f) =
        c.call(sample_request(ApiKey::FindCoordinator, 3, "t", id), ApiKey::FindCoordinator, 3).await
    else {
        panic!()
    };
    assert_eq!(f.error_code, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ResponseKind::ListGroups(l) =
            c.call(RequestKind::ListGroups(ListGroupsRequest::default()), ApiKey::ListGroups, 4).await
        else {
            panic!()
        };
        if l.error_code == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "group coordinator never loaded: {}", l.error_code);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut count = 0;
    for (key, lo, hi) in SUPPORTED_APIS {
        for v in *lo..=*hi {
            let resp = c.call(sample_request(*key, v, "t", id), *key, v).await;
            match resp {
                ResponseKind::Produce(r) => {
                    assert_eq!(r.responses[0].partition_responses[0].error_code, 0, "Produce v{v}")
                }
                ResponseKind::Fetch(r) => {
                    assert_eq!(r.error_code, 0, "Fetch v{v}");
                    let pd = &r.responses[0].partitions[0];
                    assert_eq!(pd.error_code, 0, "Fetch v{v}");
                    assert!(!pd.records.as_ref().unwrap().is_empty(), "Fetch v{v} returns records");
                }
                ResponseKind::Metadata(r) => {
                    assert_eq!(r.topics[0].error_code, 0, "Metadata v{v}");
                    assert_eq!(r.topics[0].partitions.len(), 3);
                }
                ResponseKind::ApiVersions(r) => assert_eq!(r.error_code, 0),
                ResponseKind::ListOffsets(r) => assert_eq!(r.topics[0].partitions[0].error_code, 0),
                ResponseKind::CreateTopics(r) => {
                    assert_eq!(r.topics[0].error_code, 0, "CreateTopics v{v}: {:?}", r.topics[0].error_message)
                }
                ResponseKind::DescribeConfigs(r) => {
                    assert!(r.results.iter().all(|x| x.error_code == 0), "DescribeConfigs v{v}");
                    assert!(r.results[0].configs.len() > 20, "DescribeConfigs v{v}: {:?}", r.results[0]);
                }
                ResponseKind::OffsetCommit(r) => {
                    assert_eq!(r.topics[0].partitions[0].error_code, 0, "OffsetCommit v{v}")
                }
                ResponseKind::FindCoordinator(r) => {
                    if v >= 4 {
                        assert_eq!(r.coordinators[0].error_code, 0)
                    } else {
                        assert_eq!(r.error_code, 0)
                    }
                }
                ResponseKind::AlterConfigs(r) => assert_eq!(r.responses[0].error_code, 0),
                ResponseKind::IncrementalAlterConfigs(r) => {
                    assert_eq!(r.responses[0].error_code, 0, "{:?}", r.responses[0].error_message)
                }
                ResponseKind::InitProducerId(r) => assert_eq!(r.error_code, 0),
                ResponseKind::DeleteGroups(r) => {
                    assert_eq!(r.results[0].error_code, 69, "DeleteGroups v{v}: GROUP_ID_NOT_FOUND")
                }
                ResponseKind::OffsetDelete(r) => {
                    assert_eq!((r.error_code, r.topics[0].partitions[0].error_code), (0, 0), "OffsetDelete v{v}")
                }
                ResponseKind::OffsetFetch(r) => {
                    if v >= 8 {
                        assert_eq!(r.groups[0].error_code, 0, "OffsetFetch v{v}");
                    } else {
                        assert_eq!(r.topics[0].partitions[0].error_code, 0, "OffsetFetch v{v}");
                    }
                }
                ResponseKind::DescribeProducers(r) => {
                    assert_eq!(r.topics[0].partitions[0].error_code, 0, "DescribeProducers v{v}")
                }
                ResponseKind::ConsumerGroupHeartbeat(r) => {
                    assert_eq!(r.error_code, 0, "ConsumerGroupHeartbeat v{v}: {:?}", r.error_message);
                    assert!(r.member_epoch >= 1, "ConsumerGroupHeartbeat v{v}: joined with epoch {}", r.member_epoch);
                }
                ResponseKind::ConsumerGroupDescribe(r) => {
                    assert_eq!(r.groups[0].error_code, 0, "ConsumerGroupDescribe v{v}");
                    assert!(!r.groups[0].members.is_empty(), "ConsumerGroupDescribe v{v}: the sample members");
                }
                ResponseKind::JoinGroup(r) => {
                    let want = if v >= 4 { 79 } else { 0 };
                    assert_eq!(r.error_code, want, "JoinGroup v{v}");
                }
                _ => {}
            }
            count += 1;
        }
    }
    assert!(count > 150, "exercised {count} API versions");

    // Error paths carry optional fields (messages, -1 offsets): they must encode in every version too.
    let range = |k: ApiKey| SUPPORTED_APIS.iter().find(|(x, _, _)| *x == k).map(|(_, lo, hi)| *lo..=*hi).unwrap();
    for v in range(ApiKey::Produce) {
        let ResponseKind::Produce(r) =
            c.call(produce_req("missing", 0, 1, batch(&["a"], -1, -1)), ApiKey::Produce, v).await
        else {
            panic!()
        };
        assert_eq!(r.responses[0].partition_responses[0].error_code, 3);
        let ResponseKind::Produce(r) =
            c.call(produce_req("t", 0, 1, Bytes::from_static(b"garbage-not-a-batch")), ApiKey::Produce, v).await
        else {
            panic!()
        };
        assert_ne!(r.responses[0].partition_responses[0].error_code, 0);
    }
    for v in range(ApiKey::CreateTopics) {
        let RequestKind::CreateTopics(mut r) = sample_request(ApiKey::CreateTopics, v, "t", id) else { panic!() };
        r.topics[0].name = TopicName(s("t"));
        r.topics[0].configs[0].value = Some(s("nope"));
        let ResponseKind::CreateTopics(resp) = c.call(RequestKind::CreateTopics(r), ApiKey::CreateTopics, v).await
        else {
            panic!()
        };
        assert_eq!(resp.topics[0].error_code, 36, "TOPIC_ALREADY_EXISTS first");
    }
    for v in range(ApiKey::FindCoordinator).filter(|v| *v >= 1) {
        let RequestKind::FindCoordinator(mut r) = sample_request(ApiKey::FindCoordinator, v, "t", id) else { panic!() };
        r.key_type = 1;
        let ResponseKind::FindCoordinator(resp) =
            c.call(RequestKind::FindCoordinator(r), ApiKey::FindCoordinator, v).await
        else {
            panic!()
        };
        let code = if v >= 4 { resp.coordinators[0].error_code } else { resp.error_code };
        assert_eq!(code, 0, "a transactional id finds its coordinator");
    }
    for v in range(ApiKey::DescribeConfigs) {
        let RequestKind::DescribeConfigs(mut r) = sample_request(ApiKey::DescribeConfigs, v, "t", id) else { panic!() };
        r.resources[0].resource_name = s("missing");
        let ResponseKind::DescribeConfigs(resp) =
            c.call(RequestKind::DescribeConfigs(r), ApiKey::DescribeConfigs, v).await
        else {
            panic!()
        };
        assert_eq!(resp.results[0].error_code, 3);
    }
    for v in range(ApiKey::Fetch) {
        let ResponseKind::Fetch(r) =
            c.call(fetch_req(v, "missing", uuid::Uuid::new_v4(), 0, 0, 0), ApiKey::Fetch, v).await
        else {
            panic!()
        };
        assert_eq!(r.responses[0].partitions[0].error_code, if v >= 13 { 100 } else { 3 });
    }
    h.shutdown().await.unwrap();
}

#[tokio::test]
async fn kip511_fallback_and_v3_without_default_tagged_fields() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path()).await;
    let mut c = Conn::new(h.local_addr()).await;
    // ApiVersions v99 (header v2: client id then an empty tag section).
    let mut f = BytesMut::new();
    let body: &[u8] = &[0, 18, 0, 99, 0, 0, 0, 42, 0, 3, b'c', b'l', b'i', 0, 0, 0, 0];
    f.put_i32(body.len() as i32);
    f.extend_from_slice(body);
    c.stream.write_all(&f).await.unwrap();
    let mut r = c.recv_raw().await.unwrap();
    assert_eq!(r.get_i32(), 42);
    let resp = ApiVersionsResponse::decode(&mut r, 0).unwrap();
    assert_eq!(resp.error_code, 35);
    assert_eq!(resp.api_keys.len(), 1);
    assert_eq!((resp.api_keys[0].api_key, resp.api_keys[0].min_version, resp.api_keys[0].max_version), (18, 0, 4));

    // v3: header v0 response; body = error, compact array, throttle, and an empty tag section.
    let id = c.send(&sample_request(ApiKey::ApiVersions, 3, "t", Default::default()), ApiKey::ApiVersions, 3).await;
    let mut r = c.recv_raw().await.unwrap();
    assert_eq!(r.get_i32(), id);
    let n = SUPPORTED_APIS.len();
    // 2 (error) + 1 (compact len) + n * (6 + 1 tag byte) + 4 (throttle) + 1 (no tagged fields)
    assert_eq!(r.len(), 2 + 1 + n * 7 + 4 + 1, "no default-valued tagged fields in ApiVersions v3");
    assert_eq!(r[r.len() - 1], 0);
    h.shutdown().await.unwrap();
}

#[tokio::test]
async fn acks_zero_sends_nothing_and_pipelining_keeps_order() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path()).await;
    let mut c = Conn::new(h.local_addr()).await;
    create_topic(&mut c, "p", 1).await;
    c.send(&produce_req("p", 0, 0, batch(&["zero"], -1, -1)), ApiKey::Produce, 7).await;
    let a = c.send(&sample_request(ApiKey::ApiVersions, 2, "p", Default::default()), ApiKey::ApiVersions, 2).await;
    let b = c.send(&produce_req("p", 0, 1, batch(&["one"], -1, -1)), ApiKey::Produce, 8).await;
    let m = c.send(&sample_request(ApiKey::Metadata, 1, "p", Default::default()), ApiKey::Metadata, 1).await;
    assert!(matches!(c.recv(ApiKey::ApiVersions, 2, a).await, ResponseKind::ApiVersions(_)));
    let ResponseKind::Produce(p) = c.recv(ApiKey::Produce, 8, b).await else { panic!() };
    assert_eq!(p.responses[0].partition_responses[0].base_offset, 1, "the acks=0 batch was appended first");
    assert!(matches!(c.recv(ApiKey::Metadata, 1, m).await, ResponseKind::Metadata(_)));
    // Bad acks.
    let ResponseKind::Produce(p) = c.call(produce_req("p", 0, 2, batch(&["two"], -1, -1)), ApiKey::Produce, 8).await
    else {
        panic!()
    };
    assert_eq!(p.responses[0].partition_responses[0].error_code, 21);
    // No auto-create on produce.
    let ResponseKind::Produce(p) = c.call(produce_req("nope", 0, 1, batch(&["x"], -1, -1)), ApiKey::Produce, 8).await
    else {
        panic!()
    };
    assert_eq!(p.responses[0].partition_responses[0].error_code, 3);
    // A failed acks=0 produce closes the connection (Kafka's way of telling the client).
    c.send(&produce_req("nope", 0, 0, batch(&["x"], -1, -1)), ApiKey::Produce, 8).await;
    assert!(c.closed().await);
    h.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_long_poll_is_woken_by_append() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path()).await;
    let mut c = Conn::new(h.local_addr()).await;
    let id = create_topic(&mut c, "lp", 1).await;
    let addr = h.local_addr();
    let producer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut p = Conn::new(addr).await;
        p.call(produce_req("lp", 0, 1, batch(&["wake"], -1, -1)), ApiKey::Produce, 9).await
    });
    let t0 = Instant::now();
    let ResponseKind::Fetch(f) = c.call(fetch_req(13, "lp", id, 0, 0, 10_000), ApiKey::Fetch, 13).await else {
        panic!()
    };
    let waited = t0.elapsed();
    producer.await.unwrap();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(5),
        "woken by the append after {waited:?}"
    );
    assert!(!f.responses[0].partitions[0].records.as_ref().unwrap().is_empty());
    // Max wait expires when nothing comes.
    let t0 = Instant::now();
    let ResponseKind::Fetch(f) = c.call(fetch_req(11, "lp", id, 0, 1, 300), ApiKey::Fetch, 11).await else { panic!() };
    assert!(t0.elapsed() >= Duration::from_millis(250));
    assert!(f.responses[0].partitions[0].records.as_ref().unwrap().is_empty());
    // Out of range.
    let ResponseKind::Fetch(f) = c.call(fetch_req(11, "lp", id, 0, 99, 0), ApiKey::Fetch, 11).await else { panic!() };
    assert_eq!(f.responses[0].partitions[0].error_code, 1);
    // Incremental fetch session refused.
    let RequestKind::Fetch(mut r) = fetch_req(11, "lp", id, 0, 0, 0) else { panic!() };
    r.session_id = 123;
    r.session_epoch = 1;
    let ResponseKind::Fetch(f) = c.call(RequestKind::Fetch(r), ApiKey::Fetch, 11).await else { panic!() };
    assert_eq!(f.error_code, 70);
    // Shutdown answers a parked fetch promptly.
    let mut c2 = Conn::new(addr).await;
    let fid = c2.send(&fetch_req(12, "lp", id, 0, 1, 30_000), ApiKey::Fetch, 12).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t0 = Instant::now();
    let (_, resp) = tokio::join!(h.shutdown(), c2.recv(ApiKey::Fetch, 12, fid));
    assert!(matches!(resp, ResponseKind::Fetch(_)));
    assert!(t0.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_frames_close_only_their_connection() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path()).await;
    let addr = h.local_addr();
    let cases: Vec<Vec<u8>> = vec![
        (200 * 1024 * 1024i32).to_be_bytes().to_vec(), // over socket.request.max.bytes
        (-5i32).to_be_bytes().to_vec(),                // negative size
        [&8i32.to_be_bytes()[..], &[0x7f, 0x00, 0, 0, 0, 0, 0, 1]].concat(), // unknown API key
        [&8i32.to_be_bytes()[..], &[0, 0, 0, 0, 0, 0, 0, 1]].concat(), // Produce v0: below the floor
        [&12i32.to_be_bytes()[..], &[0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]].concat(), // garbage body
        [&3i32.to_be_bytes()[..], &[1, 2, 3]].concat(), // too short for a header
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), // not Kafka at all
    ];
    for bytes in cases {
        let mut c = Conn::new(addr).await;
        c.stream.write_all(&bytes).await.unwrap();
        assert!(c.closed().await, "connection closed after {:?}", &bytes[..bytes.len().min(8)]);
    }
    // A half-sent frame followed by a hang-up.
    let mut c = Conn::new(addr).await;
    c.stream.write_all(&[0, 0, 1, 0, 0, 18]).await.unwrap();
    drop(c);
    // The broker still serves.
    let mut ok = Conn::new(addr).await;
    let ResponseKind::ApiVersions(v) =
        ok.call(sample_request(ApiKey::ApiVersions, 3, "", Default::default()), ApiKey::ApiVersions, 3).await
    else {
        panic!()
    };
    assert_eq!(v.error_code, 0);
    h.shutdown().await.unwrap();
}

#[tokio::test]
async fn connection_cap_and_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = BrokerConfig {
        port: 0,
        data_dir: dir.path().to_path_buf(),
        max_connections: 2,
        connections_max_idle_ms: 500,
        ..Default::default()
    };
    let h = Broker::start(cfg).await.unwrap();
    let mut a = Conn::new(h.local_addr()).await;
    let _b = Conn::new(h.local_addr()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut c = Conn::new(h.local_addr()).await;
    assert!(c.closed().await, "third connection refused");
    assert!(matches!(
        a.call(sample_request(ApiKey::ApiVersions, 0, "", Default::default()), ApiKey::ApiVersions, 0).await,
        ResponseKind::ApiVersions(_)
    ));
    assert!(a.closed().await, "idle connection closed");
    h.shutdown().await.unwrap();
}

#[tokio::test]
async fn data_dir_lock_and_port_in_use_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path()).await;
    let second =
        Broker::start(BrokerConfig { port: 0, data_dir: dir.path().to_path_buf(), ..Default::default() }).await;
    let err = second.err().expect("second broker on the same dir fails").to_string();
    assert!(err.contains("locked") && err.contains(&dir.path().display().to_string()), "{err}");
    let other = tempfile::tempdir().unwrap();
    let port = h.local_addr().port();
    let err = Broker::start(BrokerConfig { port, data_dir: other.path().to_path_buf(), ..Default::default() })
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains(&port.to_string()) && err.contains("in use"), "{err}");
    h.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_ids_configs_and_data_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path()).await;
    let mut c = Conn::new(h.local_addr()).await;
    let id = create_topic(&mut c, "keep", 2).await;
    let ResponseKind::InitProducerId(pid) =
        c.call(sample_request(ApiKey::InitProducerId, 4, "", id), ApiKey::InitProducerId, 4).await
    else {
        panic!()
    };
    let ResponseKind::Produce(p) =
        c.call(produce_req("keep", 1, -1, batch(&["a", "b", "c"], pid.producer_id.0, 0)), ApiKey::Produce, 9).await
    else {
        panic!()
    };
    assert_eq!(p.responses[0].partition_responses[0].error_code, 0);
    // The same idempotent batch again: answered with the original offset.
    let ResponseKind::Produce(p) =
        c.call(produce_req("keep", 1, -1, batch(&["a", "b", "c"], pid.producer_id.0, 0)), ApiKey::Produce, 9).await
    else {
        panic!()
    };
    assert_eq!(
        (p.responses[0].partition_responses[0].error_code, p.responses[0].partition_responses[0].base_offset),
        (0, 0)
    );
    // Out-of-order sequence.
    let ResponseKind::Produce(p) =
        c.call(produce_req("keep", 1, -1, batch(&["z"], pid.producer_id.0, 9)), ApiKey::Produce, 9).await
    else {
        panic!()
    };
    assert_eq!(p.responses[0].partition_responses[0].error_code, 45);
    c.call(sample_request(ApiKey::AlterConfigs, 1, "keep", id), ApiKey::AlterConfigs, 1).await;
    h.shutdown().await.unwrap();

    let h = start(dir.path()).await;
    let mut c = Conn::new(h.local_addr()).await;
    let ResponseKind::Metadata(m) =
        c.call(sample_request(ApiKey::Metadata, 12, "keep", id), ApiKey::Metadata, 12).await
    else {
        panic!()
    };
    assert_eq!(m.topics[0].topic_id, id);
    assert_eq!(m.topics[0].partitions.len(), 2);
    let ResponseKind::Fetch(f) = c.call(fetch_req(13, "keep", id, 1, 0, 0), ApiKey::Fetch, 13).await else { panic!() };
    assert_eq!(f.responses[0].partitions[0].high_watermark, 3);
    let pm = std::fs::read_to_string(dir.path().join("keep-0").join("partition.metadata")).unwrap();
    assert!(pm.starts_with("version: 0\ntopic_id: "), "{pm}");
    h.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_array_lengths_do_not_kill_the_broker() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path()).await;
    let addr = h.local_addr();
    // Metadata v1 claiming 2^31-1 topics; Produce v9 (compact) claiming 2^32-2 topics.
    let metadata: &[u8] = &[0, 3, 0, 1, 0, 0, 0, 7, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff];
    let produce: &[u8] =
        &[0, 0, 0, 9, 0, 0, 0, 8, 0xff, 0xff, 0, 0, 0, 0, 1, 0, 0, 0x13, 0x88, 0xff, 0xff, 0xff, 0xff, 0x0f];
    for body in [metadata, produce] {
        let mut c = Conn::new(addr).await;
        let mut f = BytesMut::new();
        f.put_i32(body.len() as i32);
        f.extend_from_slice(body);
        c.stream.write_all(&f).await.unwrap();
        assert!(c.closed().await);
    }
    let mut ok = Conn::new(addr).await;
    assert!(matches!(
        ok.call(sample_request(ApiKey::ApiVersions, 3, "", Default::default()), ApiKey::ApiVersions, 3).await,
        ResponseKind::ApiVersions(_)
    ));
    h.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_errors_as_kafka_words_them() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path()).await;
    let mut c = Conn::new(h.local_addr()).await;
    create_topic(&mut c, "exists", 1).await;
    // (name, partitions, replication factor, config, expected code, message fragment)
    type Case<'a> = (&'a str, i32, i16, Option<(&'a str, &'a str)>, i16, &'a str);
    let cases: &[Case] = &[
        ("exists", 1, 1, None, 36, "already exists"),
        ("bad/name", 1, 1, None, 17, "illegal"),
        ("..", 1, 1, None, 17, "cannot be"),
        ("zero-parts", 0, 1, None, 37, "partitions"),
        ("rf-two", 1, 2, None, 38, "replication factor"),
        ("bad-config", 1, 1, Some(("retention.ms", "soon")), 40, "retention.ms"),
        ("unknown-config", 1, 1, Some(("no.such.config", "1")), 40, "no.such.config"),
        ("ok-defaults", -1, -1, Some(("min.insync.replicas", "2")), 0, ""),
    ];
    for (name, parts, rf, config, code, fragment) in cases {
        let mut t = create_topics_request::CreatableTopic::default();
        t.name = TopicName(s(name));
        t.num_partitions = *parts;
        t.replication_factor = *rf;
        if let Some((k, v)) = config {
            let mut cc = create_topics_request::CreatableTopicConfig::default();
            cc.name = s(k);
            cc.value = Some(s(v));
            t.configs = vec![cc];
        }
        let mut r = CreateTopicsRequest::default();
        r.topics = vec![t];
        let ResponseKind::CreateTopics(resp) = c.call(RequestKind::CreateTopics(r), ApiKey::CreateTopics, 7).await
        else {
            panic!()
        };
        let res = &resp.topics[0];
        assert_eq!(res.error_code, *code, "{name}: {:?}", res.error_message);
        let msg = res.error_message.as_ref().map(|m| m.to_string()).unwrap_or_default();
        assert!(msg.to_lowercase().contains(&fragment.to_lowercase()), "{name}: {msg}");
        if *code == 0 {
            assert_eq!((res.num_partitions, res.replication_factor), (1, 1));
        }
    }
    // min.insync.replicas=2 on one broker: acks=all is refused, acks=1 is accepted (as Kafka does).
    let ResponseKind::Produce(p) =
        c.call(produce_req("ok-defaults", 0, -1, batch(&["x"], -1, -1)), ApiKey::Produce, 9).await
    else {
        panic!()
    };
    assert_eq!(p.responses[0].partition_responses[0].error_code, 19);
    let ResponseKind::Produce(p) =
        c.call(produce_req("ok-defaults", 0, 1, batch(&["x"], -1, -1)), ApiKey::Produce, 9).await
    else {
        panic!()
    };
    assert_eq!(p.responses[0].partition_responses[0].error_code, 0);
    // CreatePartitions must grow.
    let mut t = create_partitions_request::CreatePartitionsTopic::default();
    t.name = TopicName(s("exists"));
    t.count = 1;
    let mut r = CreatePartitionsRequest::default();
    r.topics = vec![t.clone()];
    let ResponseKind::CreatePartitions(resp) =
        c.call(RequestKind::CreatePartitions(r.clone()), ApiKey::CreatePartitions, 3).await
    else {
        panic!()
    };
    assert_eq!(resp.results[0].error_code, 37);
    r.topics[0].count = 3;
    let ResponseKind::CreatePartitions(resp) =
        c.call(RequestKind::CreatePartitions(r), ApiKey::CreatePartitions, 3).await
    else {
        panic!()
    };
    assert_eq!(resp.results[0].error_code, 0);
    // IncrementalAlterConfigs: APPEND on a list, refused on a non-list, bad value names key and value.
    for (op, key, value, code, fragment) in [
        (2i8, "cleanup.policy", "compact", 0i16, ""),
        (2, "retention.ms", "5", 40, "not allowed"),
        (0, "retention.ms", "-7", 40, "Invalid value -7 for configuration retention.ms"),
    ] {
        let mut cfg = incremental_alter_configs_request::AlterableConfig::default();
        cfg.name = s(key);
        cfg.config_operation = op;
        cfg.value = Some(s(value));
        let mut res = incremental_alter_configs_request::AlterConfigsResource::default();
        res.resource_type = 2;
        res.resource_name = s("exists");
        res.configs = vec![cfg];
        let mut r = IncrementalAlterConfigsRequest::default();
        r.resources = vec![res];
        let ResponseKind::IncrementalAlterConfigs(resp) =
            c.call(RequestKind::IncrementalAlterConfigs(r), ApiKey::IncrementalAlterConfigs, 1).await
        else {
            panic!()
        };
        let out = &resp.responses[0];
        assert_eq!(out.error_code, code, "{key}: {:?}", out.error_message);
        assert!(
            out.error_message.as_ref().map(|m| m.contains(fragment)).unwrap_or(fragment.is_empty()),
            "{:?}",
            out.error_message
        );
    }
    let ResponseKind::DescribeConfigs(d) = c
        .call(sample_request(ApiKey::DescribeConfigs, 4, "exists", Default::default()), ApiKey::DescribeConfigs, 4)
        .await
    else {
        panic!()
    };
    let policy = d.results[0].configs.iter().find(|x| x.name.as_str() == "cleanup.policy").unwrap();
    assert_eq!(policy.value.as_ref().map(|v| v.as_str()), Some("delete,compact"));
    assert_eq!(policy.config_source, 1);
    assert_eq!(policy.synonyms.len(), 2);
    // DeleteTopics by id (v6).
    let ResponseKind::Metadata(m) =
        c.call(sample_request(ApiKey::Metadata, 12, "exists", Default::default()), ApiKey::Metadata, 12).await
    else {
        panic!()
    };
    let mut dt = delete_topics_request::DeleteTopicState::default();
    dt.topic_id = m.topics[0].topic_id;
    let mut r = DeleteTopicsRequest::default();
    r.topics = vec![dt];
    let ResponseKind::DeleteTopics(resp) = c.call(RequestKind::DeleteTopics(r), ApiKey::DeleteTopics, 6).await else {
        panic!()
    };
    assert_eq!(resp.responses[0].error_code, 0);
    assert_eq!(resp.responses[0].name.as_ref().map(|n| n.to_string()), Some("exists".to_string()));
    let ResponseKind::Produce(p) = c.call(produce_req("exists", 0, 1, batch(&["x"], -1, -1)), ApiKey::Produce, 9).await
    else {
        panic!()
    };
    assert_eq!(p.responses[0].partition_responses[0].error_code, 3);
    h.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observer_sees_offsets_segments_and_counters() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path()).await;
    let observer = h.observer();
    let mut c = Conn::new(h.local_addr()).await;
    create_topic(&mut c, "seen", 2).await;
    assert_eq!(observer.topic_partitions("seen").len(), 2);
    assert!(observer.topic_partitions("unknown").is_empty());

    let records = batch(&["a", "b", "c"], -1, -1);
    let size = records.len() as u64;
    let ResponseKind::Produce(p) = c.call(produce_req("seen", 1, 1, records), ApiKey::Produce, 9).await else {
        panic!()
    };
    assert_eq!(p.responses[0].partition_responses[0].error_code, 0);

    let views = observer.topic_partitions("seen");
    let (p0, p1) = (&views[0], &views[1]);
    assert_eq!((p0.partition, p0.log_end_offset, p0.records_in), (0, 0, 0));
    assert_eq!((p1.partition, p1.log_start_offset, p1.high_watermark, p1.log_end_offset), (1, 0, 3, 3));
    assert_eq!((p1.records_in, p1.bytes_in, p1.size_bytes), (3, size, size));
    assert_eq!(p1.segments.len(), 1);
    assert!(p1.segments[0].active);
    assert_eq!((p1.segments[0].base_offset, p1.segments[0].next_offset), (0, 3));
    let counters = observer.counters();
    assert_eq!(counters.records_in, 3);
    assert!(counters.requests >= 2);
    assert!(observer.partitions().iter().any(|v| v.topic == "seen" && v.partition == 1));
    h.shutdown().await.unwrap();
}

/// Fetches reuse a per-connection read buffer and write large record sets straight from it:
/// on one connection, many fetches of varying size over several partitions (record sets above
/// and below the size written without copying) must each return exactly the stored records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_fetches_on_one_connection_return_the_stored_records() {
    use kafka_protocol::records::RecordBatchDecoder;
    const PARTITIONS: i32 = 3;
    const BATCHES: i64 = 6;
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path()).await;
    let mut c = Conn::new(h.local_addr()).await;
    let id = create_topic(&mut c, "reuse", PARTITIONS).await;
    // Batch b of partition p holds two records; partition 0's are small, the others' large.
    let value = |p: i32, offset: i64| {
        let pad = if p == 0 { 10 } else { 3000 * (p as usize) };
        format!("p{p}-o{offset}-{}", "x".repeat(pad))
    };
    for b in 0..BATCHES {
        for p in 0..PARTITIONS {
            let (v0, v1) = (value(p, 2 * b), value(p, 2 * b + 1));
            let ResponseKind::Produce(r) =
                c.call(produce_req("reuse", p, 1, batch(&[&v0, &v1], -1, -1)), ApiKey::Produce, 9).await
            else {
                panic!()
            };
            assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
        }
    }
    for (round, start) in [0i64, 4, 2, 10, 0, 6, 11, 1].into_iter().enumerate() {
        let version = if round % 2 == 0 { 16 } else { 11 };
        let RequestKind::Fetch(mut req) = fetch_req(version, "reuse", id, 0, start, 0) else { panic!() };
        let template = req.topics[0].partitions[0].clone();
        req.topics[0].partitions = (0..PARTITIONS)
            .map(|p| {
                let mut fp = template.clone();
                fp.partition = p;
                fp.fetch_offset = start;
                fp
            })
            .collect();
        let ResponseKind::Fetch(f) = c.call(RequestKind::Fetch(req), ApiKey::Fetch, version).await else { panic!() };
        for pd in &f.responses[0].partitions {
            assert_eq!(pd.error_code, 0);
            let mut records = pd.records.clone().unwrap();
            // Whole batches: the first starts at or before `start`, then offsets run on.
            let mut expected = -1;
            for set in RecordBatchDecoder::decode_all(&mut records).unwrap() {
                for r in set.records {
                    if expected < 0 {
                        assert!(
                            r.offset <= start && r.offset > start - 2,
                            "round {round} partition {}: first offset {}",
                            pd.partition_index,
                            r.offset
                        );
                        expected = r.offset;
                    }
                    assert_eq!(r.offset, expected, "round {round} partition {}", pd.partition_index);
                    assert_eq!(
                        r.value.as_deref(),
                        Some(value(pd.partition_index, expected).as_bytes()),
                        "round {round} partition {} offset {expected}",
                        pd.partition_index
                    );
                    expected += 1;
                }
            }
            assert_eq!(expected, 2 * BATCHES, "round {round} partition {}: read to the end", pd.partition_index);
        }
    }
    h.shutdown().await.unwrap();
}

/// Segment files of partitions under `data_dir` this process has open (from `/proc/self/fd`).
#[cfg(target_os = "linux")]
fn segment_fds_under(data_dir: &std::path::Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.parent().and_then(|p| p.parent()) == Some(data_dir))
        .filter(|target| target.extension().is_some_and(|x| x == "log" || x == "index" || x == "timeindex"))
        .count()
}

/// 200 partitions (a 150-partition topic and 50 single-partition topics), a few segments each,
/// under a deliberately small bound of 64 open segment files and 32 index maps: every partition
/// takes produce after produce (its files evicted in between) and fetches back exactly what was
/// produced, before and after a restart, while the process never holds more than the bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_partitions_under_a_small_open_files_bound() {
    use kafka_protocol::records::RecordBatchDecoder;
    const OPEN_FILES_MAX: usize = 64;
    const INDEX_MAPS_MAX: usize = 32;
    const ROUNDS: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let config = BrokerConfig {
        port: 0,
        data_dir: dir.path().to_path_buf(),
        log_open_files_max: Some(OPEN_FILES_MAX),
        log_index_maps_max: Some(INDEX_MAPS_MAX),
        // Small segments and dense indexes, so each partition rolls and its indexes get entries.
        log: oxbow_log::LogConfig { segment_bytes: 1024, index_interval_bytes: 64, ..Default::default() },
        ..Default::default()
    };
    let mut partitions: Vec<(String, i32)> = (0..150).map(|p| ("wide".to_string(), p)).collect();
    partitions.extend((0..50).map(|t| (format!("single-{t}"), 0)));
    let value =
        |topic: &str, p: i32, round: usize, i: usize| format!("{topic}/{p}/round{round}/record{i}/{}", "x".repeat(150));

    // Fetches every record of one partition from offset 0 and checks it against `rounds`.
    async fn check_partition(
        c: &mut Conn,
        topic: &str,
        p: i32,
        rounds: usize,
        value: &impl Fn(&str, i32, usize, usize) -> String,
    ) {
        let mut offset = 0i64;
        let expected_end = (rounds * 2) as i64;
        while offset < expected_end {
            let ResponseKind::Fetch(f) =
                c.call(fetch_req(12, topic, Default::default(), p, offset, 0), ApiKey::Fetch, 12).await
            else {
                panic!()
            };
            let pd = &f.responses[0].partitions[0];
            assert_eq!((pd.error_code, pd.high_watermark), (0, expected_end), "{topic}-{p}");
            let mut records = pd.records.clone().unwrap();
            assert!(!records.is_empty(), "{topic}-{p}: nothing at offset {offset}");
            for set in RecordBatchDecoder::decode_all(&mut records).unwrap() {
                for r in set.records {
                    assert_eq!(r.offset, offset, "{topic}-{p}");
                    let (round, i) = ((offset / 2) as usize, (offset % 2) as usize);
                    assert_eq!(
                        r.value.as_deref(),
                        Some(value(topic, p, round, i).as_bytes()),
                        "{topic}-{p} offset {offset}"
                    );
                    offset += 1;
                }
            }
        }
    }

    let h = Broker::start(config.clone()).await.unwrap();
    let mut c = Conn::new(h.local_addr()).await;
    create_topic(&mut c, "wide", 150).await;
    for t in 0..50 {
        create_topic(&mut c, &format!("single-{t}"), 1).await;
    }
    for round in 0..ROUNDS {
        for (topic, p) in &partitions {
            let (v0, v1) = (value(topic, *p, round, 0), value(topic, *p, round, 1));
            let ResponseKind::Produce(r) =
                c.call(produce_req(topic, *p, 1, batch(&[&v0, &v1], -1, -1)), ApiKey::Produce, 9).await
            else {
                panic!()
            };
            let pr = &r.responses[0].partition_responses[0];
            assert_eq!((pr.error_code, pr.base_offset), (0, (round * 2) as i64), "{topic}-{p} round {round}");
        }
    }
    for (topic, p) in &partitions {
        check_partition(&mut c, topic, *p, ROUNDS, &value).await;
    }
    let views = h.observer().partitions();
    assert_eq!(views.len(), 200);
    assert!(views.iter().all(|v| v.segments.len() >= 2), "every partition rolled");
    let s = h.observer().segment_files();
    assert!(s.open_files <= OPEN_FILES_MAX && s.index_maps <= INDEX_MAPS_MAX, "{s:?}");
    assert!(s.files_evicted > 500 && s.index_maps_evicted > 100, "the bounds were exercised: {s:?}");
    #[cfg(target_os = "linux")]
    {
        let fds = segment_fds_under(dir.path());
        assert!(fds <= OPEN_FILES_MAX, "{fds} segment files open");
    }
    drop(c);
    h.shutdown().await.unwrap();

    // Restart: every partition reopens under the same bound and serves the same records.
    let h = Broker::start(config).await.unwrap();
    let mut c = Conn::new(h.local_addr()).await;
    for (topic, p) in &partitions {
        let (v0, v1) = (value(topic, *p, ROUNDS, 0), value(topic, *p, ROUNDS, 1));
        let ResponseKind::Produce(r) =
            c.call(produce_req(topic, *p, 1, batch(&[&v0, &v1], -1, -1)), ApiKey::Produce, 9).await
        else {
            panic!()
        };
        assert_eq!(r.responses[0].partition_responses[0].base_offset, (ROUNDS * 2) as i64);
    }
    for (topic, p) in &partitions {
        check_partition(&mut c, topic, *p, ROUNDS + 1, &value).await;
    }
    let s = h.observer().segment_files();
    assert!(s.open_files <= OPEN_FILES_MAX && s.index_maps <= INDEX_MAPS_MAX, "{s:?}");
    #[cfg(target_os = "linux")]
    assert!(segment_fds_under(dir.path()) <= OPEN_FILES_MAX);
    drop(c);
    h.shutdown().await.unwrap();
}
