;; The read loop of the bandwidth probe, compiled into read-bandwidth-wasm.ts (regenerate with
;; `npx wat2wasm read-bandwidth.wat -o /tmp/rb.wasm && base64 -w0 /tmp/rb.wasm`).
;; Sums [p, end) with 16-byte loads, 8 per iteration into 4 independent accumulators, so the loop is bound by
;; how fast memory delivers bytes, not by an add's latency; the result keeps the loads from being optimized out.
(module
  (import "env" "memory" (memory 1))
  (func (export "read") (param $p i32) (param $end i32) (result i32)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $a (i32x4.add (local.get $a) (v128.load offset=0 (local.get $p))))
        (local.set $b (i32x4.add (local.get $b) (v128.load offset=16 (local.get $p))))
        (local.set $c (i32x4.add (local.get $c) (v128.load offset=32 (local.get $p))))
        (local.set $d (i32x4.add (local.get $d) (v128.load offset=48 (local.get $p))))
        (local.set $a (i32x4.add (local.get $a) (v128.load offset=64 (local.get $p))))
        (local.set $b (i32x4.add (local.get $b) (v128.load offset=80 (local.get $p))))
        (local.set $c (i32x4.add (local.get $c) (v128.load offset=96 (local.get $p))))
        (local.set $d (i32x4.add (local.get $d) (v128.load offset=112 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 128)))
        (br $next)))
    (i32x4.extract_lane 0
      (i32x4.add (i32x4.add (local.get $a) (local.get $b)) (i32x4.add (local.get $c) (local.get $d))))))
