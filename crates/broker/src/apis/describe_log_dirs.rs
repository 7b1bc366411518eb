//! DescribeLogDirs (key 35): the one data dir with per-partition sizes (offset lag 0: nothing is
//! moving between dirs) and, in v4, the file system's total and usable bytes.

use super::{s, Ctx};
use crate::codes;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use std::collections::BTreeMap;

fn fs_space(path: &std::path::Path) -> Option<(i64, i64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-parameter.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return None;
    }
    let frsize = st.f_frsize as i64;
    Some((st.f_blocks as i64 * frsize, st.f_bavail as i64 * frsize))
}

pub(crate) fn handle(ctx: &Ctx, version: i16, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let b = &ctx.broker;
    let wanted: Option<BTreeMap<String, Vec<i32>>> =
        req.topics.as_ref().map(|ts| ts.iter().map(|t| (t.topic.to_string(), t.partitions.clone())).collect());
    let mut result = DescribeLogDirsResult::default();
    result.error_code = codes::NONE;
    let dir = std::fs::canonicalize(&b.config.data_dir).unwrap_or_else(|_| b.config.data_dir.clone());
    result.log_dir = s(dir.display().to_string());
    let mut by_topic: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
    for p in b.all_partitions() {
        if let Some(w) = &wanted {
            match w.get(&p.topic) {
                Some(ps) if ps.contains(&p.index) => {}
                _ => continue,
            }
        }
        let Ok(size) = p.with_log(|log| log.size_bytes()) else { continue };
        let mut dp = DescribeLogDirsPartition::default();
        dp.partition_index = p.index;
        dp.partition_size = size as i64;
        dp.offset_lag = 0;
        dp.is_future_key = false;
        by_topic.entry(p.topic.clone()).or_default().push(dp);
    }
    result.topics = by_topic
        .into_iter()
        .map(|(name, mut parts)| {
            parts.sort_by_key(|p| p.partition_index);
            let mut t = DescribeLogDirsTopic::default();
            t.name = TopicName(s(name));
            t.partitions = parts;
            t
        })
        .collect();
    if version >= 4 {
        if let Some((total, usable)) = fs_space(&b.config.data_dir) {
            result.total_bytes = total;
            result.usable_bytes = usable;
        }
    }
    let mut resp = DescribeLogDirsResponse::default();
    resp.results = vec![result];
    resp
}
