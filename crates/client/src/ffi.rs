//! The one place this crate drives librdkafka's C admin API directly, for what the `rdkafka`
//! binding does not wrap (IncrementalAlterConfigs, batched ListOffsets, DescribeCluster,
//! DescribeTopics, DescribeConfigs with synonyms).
//!
//! Two pieces keep that code short and leak-free:
//! - [`Owned`]: an RAII guard for one librdkafka object, destroyed with its own `*_destroy`
//!   function on drop, so an early return or `?` on any path frees everything made so far.
//! - [`admin_request`]: the shape every admin call shares — admin options with a request
//!   timeout, a private reply queue, one request, one bounded poll, the event-level error checked —
//!   returning the result event (owned) for the caller to read.
//!
//! Result objects that librdkafka hands out from an event (`*_result_*` arrays, descriptions,
//! config entries, nodes) belong to the event: read them only while its [`Owned`] is alive, and
//! never destroy them.

use crate::error::{Error, Result};
use rdkafka::bindings as sys;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// One librdkafka object, destroyed with `destroy` when dropped.
pub(crate) struct Owned<T> {
    ptr: NonNull<T>,
    destroy: unsafe extern "C" fn(*mut T),
}

impl<T> Owned<T> {
    /// Takes ownership of `ptr`; `None` when it is null (librdkafka's way of failing a `*_new`).
    ///
    /// # Safety
    /// `ptr` must be null or a live object that nothing else frees, and `destroy` its destructor.
    pub(crate) unsafe fn new(ptr: *mut T, destroy: unsafe extern "C" fn(*mut T)) -> Option<Owned<T>> {
        NonNull::new(ptr).map(|ptr| Owned { ptr, destroy })
    }

    pub(crate) fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        // SAFETY: `new`'s contract: we are the only owner and `destroy` is the destructor.
        unsafe { (self.destroy)(self.ptr.as_ptr()) }
    }
}

/// The answer to one admin request; result pointers read from it live as long as it does.
pub(crate) type AdminEvent = Owned<sys::rd_kafka_event_t>;

/// Milliseconds for librdkafka's `int` timeouts, saturating.
pub(crate) fn millis(timeout: Duration) -> c_int {
    c_int::try_from(timeout.as_millis()).unwrap_or(c_int::MAX)
}

/// How long one wait on an admin reply queue lasts before `closed` is looked at again: the bound
/// on how long a call in flight outlives [`Admin::close`](crate::Admin::close).
pub const ADMIN_POLL_SLICE_MS: u64 = 50;

/// The code of a call refused or abandoned because its handle was closed.
pub const CLOSED_CODE: &str = "CLIENT_CLOSED";

/// Runs one admin request and waits for its result event.
///
/// Makes admin options for `op` with `timeout` as the request timeout and a private reply queue,
/// lets `send` enqueue the request, then waits for the answer for at most `timeout` plus one
/// second (librdkafka's own timer fires first; the second covers its scheduling). A missing answer
/// is `REQUEST_TIMED_OUT`; an event-level error (no broker reachable, request refused as a whole)
/// is returned as [`Error::Refused`] naming `operation` and `object`. Per-resource errors are the
/// caller's to read from the event. Blocks the calling thread.
///
/// Once `closed` is set the call is refused (`CLIENT_CLOSED`) without sending, and a call already
/// waiting gives up within [`ADMIN_POLL_SLICE_MS`]: a stopping process must not wait out a
/// request (10 s in the studio) to brokers that are stopping too. Giving up early is safe:
/// destroying our reply queue disables it, and librdkafka then drops the late answer itself.
///
/// # Safety
/// `rk` must be a live client handle for the whole call. `send` must enqueue exactly one admin
/// request of kind `op`, with the options and queue it is given, and pass only pointers that stay
/// valid until it returns (librdkafka copies request arguments before `send` returns).
pub(crate) unsafe fn admin_request(
    rk: *mut sys::rd_kafka_t,
    op: sys::rd_kafka_admin_op_t,
    operation: &'static str,
    object: &str,
    timeout: Duration,
    closed: &AtomicBool,
    send: impl FnOnce(*const sys::rd_kafka_AdminOptions_t, *mut sys::rd_kafka_queue_t),
) -> Result<AdminEvent> {
    let refused = |code: String| Error::Refused { operation, object: object.to_string(), code };
    let closed_refusal = || refused(format!("{CLOSED_CODE}: the client was closed"));
    if closed.load(Ordering::Acquire) {
        return Err(closed_refusal());
    }
    let options = Owned::new(sys::rd_kafka_AdminOptions_new(rk, op), sys::rd_kafka_AdminOptions_destroy)
        .ok_or_else(|| refused("INVALID_REQUEST: librdkafka made no admin options".into()))?;
    let timeout_ms = millis(timeout);
    let mut errbuf = [0 as c_char; 256];
    let err =
        sys::rd_kafka_AdminOptions_set_request_timeout(options.as_ptr(), timeout_ms, errbuf.as_mut_ptr(), errbuf.len());
    if err != sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return Err(refused(format!("INVALID_REQUEST: {}", cstr(errbuf.as_ptr()))));
    }
    let queue = Owned::new(sys::rd_kafka_queue_new(rk), sys::rd_kafka_queue_destroy)
        .ok_or_else(|| refused("INVALID_REQUEST: librdkafka made no queue".into()))?;
    send(options.as_ptr(), queue.as_ptr());
    // One poll per slice, at most `slices_max` of them: bounded in count as well as in time.
    let wait_ms = u64::try_from(timeout_ms.saturating_add(1_000)).unwrap_or(0);
    let slices_max = wait_ms.div_ceil(ADMIN_POLL_SLICE_MS).max(1);
    let deadline = Instant::now() + Duration::from_millis(wait_ms);
    let mut answer = None;
    for _ in 0..slices_max {
        if closed.load(Ordering::Acquire) {
            return Err(closed_refusal());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let slice = left.min(Duration::from_millis(ADMIN_POLL_SLICE_MS));
        answer = Owned::new(sys::rd_kafka_queue_poll(queue.as_ptr(), millis(slice)), sys::rd_kafka_event_destroy);
        if answer.is_some() || left.is_zero() {
            break;
        }
    }
    let event = answer.ok_or_else(|| refused(format!("REQUEST_TIMED_OUT: no answer within {timeout_ms} ms")))?;
    let err = sys::rd_kafka_event_error(event.as_ptr());
    if err != sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        let code = rdkafka::types::RDKafkaErrorCode::from(err);
        let detail = cstr(sys::rd_kafka_event_error_string(event.as_ptr()));
        return Err(refused(error_code(code, &detail)));
    }
    Ok(event)
}

/// `code` as [`Error::Refused`] carries it: librdkafka's name, then the broker's message if any.
pub(crate) fn error_code(code: rdkafka::types::RDKafkaErrorCode, detail: &str) -> String {
    if detail.is_empty() {
        format!("{code:?}")
    } else {
        format!("{code:?}: {detail}")
    }
}

/// A topic's config resource (DescribeConfigs, IncrementalAlterConfigs), owned; `None` when
/// librdkafka makes none. librdkafka copies the name.
pub(crate) fn topic_config_resource(name: &std::ffi::CStr) -> Option<Owned<sys::rd_kafka_ConfigResource_t>> {
    // SAFETY: a new resource, freed by the guard with its own destroy function.
    unsafe {
        Owned::new(
            sys::rd_kafka_ConfigResource_new(sys::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC, name.as_ptr()),
            sys::rd_kafka_ConfigResource_destroy,
        )
    }
}

/// One object's refusal in a librdkafka admin result, as [`Error::Refused`] (`code` is
/// librdkafka's code, `message` the broker's text, possibly empty).
pub(crate) fn refused_object(
    operation: &'static str,
    object: &str,
    code: sys::rd_kafka_resp_err_t,
    message: &str,
) -> Error {
    Error::Refused { operation, object: object.to_string(), code: error_code(code.into(), message) }
}

/// The elements of a librdkafka result array (`ptr`, `count`) as a slice; empty when null.
///
/// # Safety
/// `ptr` must be null or point to `count` elements that outlive the returned slice.
pub(crate) unsafe fn array<'a, T>(ptr: *const T, count: usize) -> &'a [T] {
    if ptr.is_null() || count == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(ptr, count)
    }
}

/// Copies a C string owned by librdkafka; a null pointer reads as empty.
///
/// # Safety
/// `ptr` must be null or a NUL-terminated string alive for the call.
pub(crate) unsafe fn cstr(ptr: *const c_char) -> String {
    opt_cstr(ptr).unwrap_or_default()
}

/// Copies a C string owned by librdkafka; `None` for a null pointer.
///
/// # Safety
/// As [`cstr`].
pub(crate) unsafe fn opt_cstr(ptr: *const c_char) -> Option<String> {
    (!ptr.is_null()).then(|| CStr::from_ptr(ptr).to_string_lossy().into_owned())
}

extern "C" {
    /// `rd_kafka_ConfigEntry_source`, declared returning `c_int` rather than the binding's enum:
    /// librdkafka passes the broker's byte through, and Kafka defines sources (6, 7) that the
    /// enum lacks, which would be undefined behaviour to receive as that enum.
    #[link_name = "rd_kafka_ConfigEntry_source"]
    pub(crate) fn config_entry_source(entry: *const sys::rd_kafka_ConfigEntry_t) -> c_int;
}

/// The refusal an admin result object carries, if any: `error` is what its `*_error` accessor
/// returned (null when it has none).
///
/// # Safety
/// `error` must be null or a live error object of a live event.
pub(crate) unsafe fn object_error(
    operation: &'static str,
    object: &str,
    error: *const sys::rd_kafka_error_t,
) -> Option<Error> {
    if error.is_null() {
        return None;
    }
    let code = sys::rd_kafka_error_code(error);
    if code == sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return None;
    }
    let message = cstr(sys::rd_kafka_error_string(error));
    Some(refused_object(operation, object, code, &message))
}

/// The answers of a many-object request, in the order the objects were asked, with `NO_ANSWER`
/// for any the result left out.
pub(crate) fn in_asked_order<T>(
    operation: &'static str,
    asked: &[String],
    mut answers: std::collections::HashMap<String, Result<T>>,
) -> Vec<(String, Result<T>)> {
    asked
        .iter()
        .map(|object| {
            let answer = answers
                .remove(object)
                .unwrap_or_else(|| Err(Error::Refused { operation, object: object.clone(), code: "NO_ANSWER".into() }));
            (object.clone(), answer)
        })
        .collect()
}
