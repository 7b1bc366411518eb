//! A minimal start-up probe: one Kafka Metadata request over a fresh TCP connection.
//!
//! Hand-encoded rather than through librdkafka, whose reconnect back-off would blur the moment
//! the broker starts answering.

use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

const PROBE_TIMEOUT_MS: u64 = 500;
const CLIENT_ID: &[u8] = b"oxbow-bench-probe";

/// A port that was free a moment ago (the OS may hand it out again, but rarely does so soon).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// True when a broker on 127.0.0.1:`port` answers Metadata v1 (no topics) listing at least one
/// broker. Any error — refused, reset, timeout, short read — means "not yet".
pub fn metadata_answers(port: u16) -> bool {
    metadata_brokers(port).is_some_and(|brokers| brokers >= 1)
}

/// How many brokers the broker on 127.0.0.1:`port` lists in its Metadata v1 answer; None on any
/// error. A cluster member lists its peers once they registered with the controller.
pub fn metadata_brokers(port: u16) -> Option<i32> {
    metadata_request(port).ok().flatten()
}

fn metadata_request(port: u16) -> std::io::Result<Option<i32>> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let timeout = Duration::from_millis(PROBE_TIMEOUT_MS);
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;

    const CORRELATION_ID: i32 = 7;
    let mut body = Vec::with_capacity(32);
    body.extend_from_slice(&3i16.to_be_bytes()); // api_key: Metadata
    body.extend_from_slice(&1i16.to_be_bytes()); // api_version 1: topics = [] means "none"
    body.extend_from_slice(&CORRELATION_ID.to_be_bytes());
    body.extend_from_slice(&(CLIENT_ID.len() as i16).to_be_bytes());
    body.extend_from_slice(CLIENT_ID);
    body.extend_from_slice(&0i32.to_be_bytes()); // topics: empty array
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as i32).to_be_bytes());
    frame.extend_from_slice(&body);
    stream.write_all(&frame)?;

    // size, correlation_id, then (v1) the brokers array length.
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    let correlation_id = i32::from_be_bytes(head[4..8].try_into().expect("4 bytes"));
    let brokers = i32::from_be_bytes(head[8..12].try_into().expect("4 bytes"));
    Ok((correlation_id == CORRELATION_ID).then_some(brokers))
}
