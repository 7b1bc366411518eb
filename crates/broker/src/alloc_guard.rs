//! A global allocator that keeps hostile array lengths from aborting the process.
//!
//! Why: the `kafka-protocol` crate decodes an array by reading its length and calling
//! `Vec::with_capacity(length)` before reading any element. A 12-byte Metadata request claiming
//! 2^31 topics asks for ~150 GB; with Linux's default heuristic overcommit that allocation fails
//! and Rust aborts the whole broker. (Kafka's Java decoder checks the length against the bytes
//! remaining; the crate does not, and we may not patch it here.)
//!
//! How: allocations of at least [`LARGE_ALLOCATION_BYTES`] are served by `mmap` with
//! `MAP_NORESERVE`, which heuristic overcommit does not refuse. Such a claim costs address space
//! only: the decoder fails at the first missing element and frees it untouched. Everything
//! smaller goes to the system allocator unchanged. Legitimate allocations never reach the
//! threshold (frames are capped by `socket.request.max.bytes`, 100 MiB by default).
//!
//! It is installed as the global allocator by the default `guard-allocator` feature. A binary
//! that wants its own global allocator disables the feature and should wrap its allocator the
//! same way.

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations of this size or more are mapped with `MAP_NORESERVE`.
pub const LARGE_ALLOCATION_BYTES: usize = 1 << 30;
const PAGE_BYTES: usize = 4096;

/// See the module docs.
pub struct GuardedAllocator;

fn is_large(layout: &Layout) -> bool {
    layout.size() >= LARGE_ALLOCATION_BYTES && layout.align() <= PAGE_BYTES
}

unsafe fn map(size: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping has no preconditions; failure is MAP_FAILED.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        p as *mut u8
    }
}

unsafe impl GlobalAlloc for GuardedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_large(&layout) {
            // SAFETY: see `map`.
            unsafe { map(layout.size()) }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_large(&layout) {
            // Anonymous mappings are zero-filled.
            // SAFETY: see `map`.
            unsafe { map(layout.size()) }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_large(&layout) {
            // SAFETY: `ptr` came from `map(layout.size())` (same layout routes the same way).
            unsafe {
                libc::munmap(ptr as *mut libc::c_void, layout.size());
            }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `layout.align()` with `new_size` is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !is_large(&layout) && !is_large(&new_layout) {
            // SAFETY: forwarded with the caller's guarantees.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: allocate, copy the overlapping prefix, free the old block — each with the
        // layout it was allocated with.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn absurd_capacity_does_not_abort() {
        // ~150 GB of address space, never touched.
        let v: Vec<[u8; 72]> = Vec::with_capacity(i32::MAX as usize);
        assert!(v.capacity() >= i32::MAX as usize);
        drop(v);
        let mut w: Vec<u8> = Vec::with_capacity(super::LARGE_ALLOCATION_BYTES);
        w.push(1);
        w.shrink_to_fit();
        assert_eq!(w, vec![1]);
    }
}
