//! What a `#![no_std]` plugin needs from the SDK (feature `no-std`): a global allocator,
//! the canonical ABI's `cabi_realloc`, and a panic handler that logs the message to the
//! host before trapping.
//!
//! A std plugin imports WASI (`wasi:cli`, `wasi:io`) because the standard library's panic
//! machinery prints to stderr; a `no_std` plugin imports nothing of WASI, and its fresh
//! instances are cheaper to create.

use alloc::format;
use core::alloc::Layout;

#[cfg(not(feature = "bump-allocator"))]
#[global_allocator]
static ALLOCATOR: libc_allocator::LibcAllocator = libc_allocator::LibcAllocator;

#[cfg(feature = "bump-allocator")]
#[global_allocator]
static ALLOCATOR: bump::BumpAllocator = bump::BumpAllocator::new();

/// The C library's allocator, as the standard library uses on WASI targets. It serves
/// first from the free part of the module's initial memory, so a small call needs no
/// `memory.grow` (each grow, and the reset after it, costs the host page-table work).
#[cfg(not(feature = "bump-allocator"))]
mod libc_allocator {
    use core::alloc::{GlobalAlloc, Layout};

    pub struct LibcAllocator;

    /// The alignment `malloc` guarantees on wasm32.
    const MALLOC_ALIGN: usize = 8;

    unsafe extern "C" {
        fn malloc(size: usize) -> *mut u8;
        fn aligned_alloc(align: usize, size: usize) -> *mut u8;
        fn realloc(ptr: *mut u8, size: usize) -> *mut u8;
        fn free(ptr: *mut u8);
    }

    // SAFETY: wasi-libc's allocator is a correct C allocator; alignments above what
    // `malloc` guarantees go through `aligned_alloc`, and `realloc` is only used where
    // `malloc` would do.
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
            // SAFETY: the layout came with `ptr`, and `new_size` is non-zero.
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
}

/// A bump allocator (feature `bump-allocator`): allocation is a pointer increment and
/// freeing is nothing, except that the newest block is rewound and grows in place. The
/// host throws every instance away after one batch, so memory need never be reused; the
/// price is that a call's garbage stays until the call ends (the memory cap still holds).
/// It starts at the linker's `__heap_base`, so a small call needs no `memory.grow`.
#[cfg(feature = "bump-allocator")]
mod bump {
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::Cell;
    use core::ptr::null_mut;

    const PAGE: usize = 65_536;

    unsafe extern "C" {
        static __heap_base: u8;
    }

    pub struct BumpAllocator {
        next: Cell<usize>,
        end: Cell<usize>,
    }

    // SAFETY: a plugin runs on one thread (wasm32 without threads).
    unsafe impl Sync for BumpAllocator {}

    impl BumpAllocator {
        pub const fn new() -> Self {
            BumpAllocator {
                next: Cell::new(0),
                end: Cell::new(0),
            }
        }

        fn bump(&self, size: usize, align: usize) -> *mut u8 {
            if self.end.get() == 0 {
                // Only the address of the linker-defined symbol is taken.
                self.next.set(core::ptr::addr_of!(__heap_base) as usize);
                self.end.set(core::arch::wasm32::memory_size(0) * PAGE);
            }
            let start = (self.next.get() + align - 1) & !(align - 1);
            let Some(new_next) = start.checked_add(size) else {
                return null_mut();
            };
            if new_next > self.end.get() {
                let pages = (new_next - self.end.get()).div_ceil(PAGE);
                if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
                    return null_mut();
                }
                self.end.set(self.end.get() + pages * PAGE);
            }
            self.next.set(new_next);
            start as *mut u8
        }
    }

    // SAFETY: blocks are within linear memory, aligned as asked, and never handed out
    // twice while live (only the newest block is ever rewound or grown in place).
    unsafe impl GlobalAlloc for BumpAllocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            self.bump(layout.size(), layout.align())
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if ptr as usize + layout.size() == self.next.get() {
                self.next.set(ptr as usize);
            }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let start = ptr as usize;
            if start + layout.size() == self.next.get() && start + new_size <= self.end.get() {
                self.next.set(start + new_size);
                return ptr;
            }
            let new = self.bump(new_size, layout.align());
            if !new.is_null() {
                // SAFETY: both blocks are live and distinct; the copy fits in both.
                unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            }
            new
        }
    }
}

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
