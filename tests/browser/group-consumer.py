"""A real confluent-kafka consumer in a group for the browser tests: reads at most RATE records per second (so
lag visibly falls while it works), commits what it read every 500 ms (auto commit), prints `assigned` once it has
partitions, and leaves the group cleanly on SIGTERM.

Usage: group-consumer.py BOOTSTRAP GROUP TOPIC RATE
"""

import signal
import sys
import time

from confluent_kafka import Consumer

bootstrap, group, topic, rate = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
consumer = Consumer({
    "bootstrap.servers": bootstrap, "group.id": group, "client.id": "browser-test-consumer",
    "auto.offset.reset": "earliest", "enable.auto.commit": True, "auto.commit.interval.ms": 500,
    "session.timeout.ms": 10000, "heartbeat.interval.ms": 1000,
})
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
consumer.subscribe([topic])
announced = False
while running:
    message = consumer.poll(0.1)
    if not announced and consumer.assignment():
        print("assigned", flush=True)
        announced = True
    if message is not None and message.error() is None:
        time.sleep(1.0 / rate)
consumer.close()
print("closed", flush=True)
