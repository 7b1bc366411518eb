"""A real confluent-kafka transactional producer for the browser tests: commits one transaction of COMMITTED records
to partition 0 of TOPIC, then opens a second one with OPEN records (flushed, so they are in the log) and prints
`open`. It then reads commands from stdin, one per line: `commit` or `abort` ends the open transaction and prints
`committed` or `aborted`. It exits at end of input.

Usage: txn-producer.py BOOTSTRAP TRANSACTIONAL_ID TOPIC COMMITTED OPEN
"""

import sys

from confluent_kafka import Producer

bootstrap, txn_id, topic, committed, open_count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "client.id": "browser-test-txn",
                     "transaction.timeout.ms": 300000, "log_level": 3})
producer.init_transactions(60)
producer.begin_transaction()
for i in range(committed):
    producer.produce(topic, partition=0, value=f"committed-{i}".encode())
producer.commit_transaction(60)
producer.begin_transaction()
for i in range(open_count):
    producer.produce(topic, partition=0, value=f"open-{i}".encode())
assert producer.flush(60) == 0, "the open transaction's records were not delivered"
print("open", flush=True)
for line in sys.stdin:
    command = line.strip()
    if command == "commit":
        producer.commit_transaction(60)
        print("committed", flush=True)
    elif command == "abort":
        producer.abort_transaction(60)
        print("aborted", flush=True)
