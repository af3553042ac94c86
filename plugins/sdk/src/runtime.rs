//! What a `#![no_std]` plugin needs from the SDK (feature `no-std`): an allocator, the
//! canonical ABI's `cabi_realloc`, and a panic handler that logs the message to the host
//! before trapping.
//!
//! A std plugin imports WASI (`wasi:cli`, `wasi:io`) because the standard library's panic
//! machinery prints to stderr; a `no_std` plugin imports nothing of WASI, and its fresh
//! instances are cheaper to create.

use alloc::format;

use core::alloc::{GlobalAlloc, Layout};

/// The C library's allocator, as the standard library uses on WASI targets. It serves
/// first from the free part of the module's initial memory, so a small call needs no
/// `memory.grow` (each grow, and the reset after it, costs the host page-table work).
struct LibcAllocator;

/// The alignment `malloc` guarantees on wasm32.
const MALLOC_ALIGN: usize = 8;

unsafe extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn aligned_alloc(align: usize, size: usize) -> *mut u8;
    fn realloc(ptr: *mut u8, size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
}

// SAFETY: wasi-libc's allocator is a correct C allocator; alignments above what `malloc`
// guarantees go through `aligned_alloc`, and `realloc` is only used where `malloc` would do.
unsafe impl GlobalAlloc for LibcAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe {
            if layout.align() <= MALLOC_ALIGN && layout.align() <= layout.size() {
                malloc(layout.size())
            } else {
                aligned_alloc(layout.align(), layout.size())
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { free(ptr) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN && layout.align() <= new_size {
            return unsafe { realloc(ptr, new_size) };
        }
        // SAFETY: the layout is valid (it came with `ptr`) and `new_size` is non-zero.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                free(ptr);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: LibcAllocator = LibcAllocator;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::log(crate::LogLevel::Error, &format!("panicked: {info}"));
    core::arch::wasm32::unreachable()
}

// `malloc`, `memcmp`, `memcpy` and the like come from the target's C library (wasi-libc),
// as they do for std plugins; none of them imports anything.
#[link(name = "c")]
unsafe extern "C" {}

/// The canonical ABI's allocation entry point, which the host calls to hand the plugin
/// its inputs. On wasm32-wasip2 the standard library exports it; a `no_std` plugin gets
/// it here.
///
/// # Safety
///
/// Called by the host per the canonical ABI: `old_ptr`/`old_len`/`align` describe a block
/// this allocator returned (or `old_len` is 0), and `align` is a power of two.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cabi_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    use alloc::alloc::{alloc, handle_alloc_error, realloc};
    if old_len == 0 && new_len == 0 {
        return align as *mut u8;
    }
    // SAFETY: the host passes a power-of-two alignment and sizes from earlier calls.
    let ptr = unsafe {
        if old_len == 0 {
            alloc(Layout::from_size_align_unchecked(new_len, align))
        } else {
            realloc(
                old_ptr,
                Layout::from_size_align_unchecked(old_len, align),
                new_len,
            )
        }
    };
    if ptr.is_null() {
        handle_alloc_error(Layout::from_size_align(new_len, align).unwrap_or(Layout::new::<u8>()));
    }
    ptr
}
