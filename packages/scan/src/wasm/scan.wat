;; Mamba kernels in WebAssembly SIMD (128-bit lanes, float32): selective scan, selective state update,
;; causal depthwise conv1d and its one-token update.
;;
;; Built by scripts/build-wasm.mjs, which
;;  - expands the macros (@exp2 X), (@softplus X) and (@silu X) inline: V8 does not inline wasm calls, and
;;    a call inside a hot loop spills every live v128 register. Each macro is a (block (result v128) ...)
;;    using the locals $e_t $e_r (exp2) and $s_x $s_y $s_q (softplus, silu), which a function using it
;;    declares;
;;  - assembles two binaries: this text as is (a shared memory: worker threads) and with "shared" removed from
;;    the memory import (browsers that are not crossOriginIsolated have no SharedArrayBuffer).
;;
;; Every pointer is a byte offset into the imported memory; 0 means "absent" (the caller keeps the first
;; page for its thread control block). Each exported kernel handles one batch row and a channel range
;; [c0, c1), so the caller can split work across threads by channel.
;;
;; Fast exp: exp(x) = 2^(x log2 e); 2^t = 2^k * 2^f with k = round(t) and f = t - k in [-0.5, 0.5], 2^f by a
;; degree-5 polynomial with 2^0 = 1 exactly (max relative error 1.9e-7 in float32), 2^k added to the exponent
;; bits. t is clamped to [-125, 127] so the result stays a finite normal float: exp underflows to ~2e-38
;; instead of 0 (x < -86.6) and saturates at ~2.4e38 instead of +inf (x > 88).
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; exp2 of each lane (the macro's plain-function twin, exported to test the approximation).
  (func $exp2 (export "exp2_f32x4") (param $x v128) (result v128)
    (local $e_t v128) (local $e_r v128)
    (@exp2 (local.get $x)))

  ;; In-place exp / softplus / silu over n floats (n a multiple of 4): lets tests measure the approximations.
  (func (export "map_f32") (param $p i32) (param $n i32) (param $fn i32)
    (local $end i32) (local $v v128)
    (local $e_t v128) (local $e_r v128) (local $s_x v128) (local $s_y v128) (local $s_q v128)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v (v128.load (local.get $p)))
        (if (i32.eq (local.get $fn) (i32.const 0))
          (then (local.set $v (@exp2 (f32x4.mul (local.get $v) (v128.const f32x4 1.442695 1.442695 1.442695 1.442695))))))
        (if (i32.eq (local.get $fn) (i32.const 1))
          (then (local.set $v (@softplus (local.get $v)))))
        (if (i32.eq (local.get $fn) (i32.const 2))
          (then (local.set $v (@silu (local.get $v)))))
        (v128.store (local.get $p) (local.get $v))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $next))))

  ;; Loads lane i of a 4-channel gather: rows r0..r3 (byte offsets of the rows) at byte column $col.
  (func $gather (param $base i32) (param $r0 i32) (param $r1 i32) (param $r2 i32) (param $r3 i32) (param $col i32)
    (result v128)
    (local.set $base (i32.add (local.get $base) (local.get $col)))
    (f32x4.replace_lane 3
      (f32x4.replace_lane 2
        (f32x4.replace_lane 1
          (v128.load32_splat (i32.add (local.get $base) (local.get $r0)))
          (f32.load (i32.add (local.get $base) (local.get $r1))))
        (f32.load (i32.add (local.get $base) (local.get $r2))))
      (f32.load (i32.add (local.get $base) (local.get $r3)))))

  ;; Stores the first $lanes (1..4) lanes of $v to rows r0..r3 at byte column $col.
  (func $scatter (param $base i32) (param $r0 i32) (param $r1 i32) (param $r2 i32) (param $r3 i32) (param $col i32)
    (param $lanes i32) (param $v v128)
    (local.set $base (i32.add (local.get $base) (local.get $col)))
    (f32.store (i32.add (local.get $base) (local.get $r0)) (f32x4.extract_lane 0 (local.get $v)))
    (if (i32.gt_u (local.get $lanes) (i32.const 1))
      (then (f32.store (i32.add (local.get $base) (local.get $r1)) (f32x4.extract_lane 1 (local.get $v)))))
    (if (i32.gt_u (local.get $lanes) (i32.const 2))
      (then (f32.store (i32.add (local.get $base) (local.get $r2)) (f32x4.extract_lane 2 (local.get $v)))))
    (if (i32.gt_u (local.get $lanes) (i32.const 3))
      (then (f32.store (i32.add (local.get $base) (local.get $r3)) (f32x4.extract_lane 3 (local.get $v))))))

  ;; Selective scan of one batch row, channels [c0, c1), vectorised across channels: each v128 holds 4
  ;; channels (the last block repeats channel c1-1 in its spare lanes and never stores them).
  ;; u, delta, z, out: this batch's [d, L]; A: [d, N]; B, C: this batch's (and group's) [N, L]; D, bias: [d];
  ;; h0, hT: this batch's [d, N]. The sequence is walked in chunks of $chunk tokens so that the per-token
  ;; tiles stay in L1; per chunk: (1) gather delta/u of the 4 channels, softplus; (2) for each pair of
  ;; states n, n+1 run the recurrence over the chunk, accumulating y = C.h into a tile; (3) D skip, z gate,
  ;; scatter to out. Scratch: 64 * chunk + 32 * N bytes.
  (func (export "scan")
    (param $u i32) (param $delta i32) (param $z i32) (param $A i32) (param $B i32) (param $C i32)
    (param $D i32) (param $bias i32) (param $h0 i32) (param $out i32) (param $hT i32)
    (param $c0 i32) (param $c1 i32) (param $L i32) (param $N i32) (param $softplus i32)
    (param $scratch i32) (param $chunk i32)
    (local $c i32) (local $lanes i32) (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
    (local $dtT i32) (local $duT i32) (local $uT i32) (local $yT i32) (local $hS i32) (local $A2 i32)
    (local $n i32) (local $t0 i32) (local $T i32) (local $i i32) (local $iEnd i32) (local $col i32)
    (local $rowBytes i32) (local $Lb i32) (local $Bp i32) (local $Cp i32)
    (local $biasV v128) (local $DV v128) (local $dt v128) (local $du v128) (local $y v128)
    (local $av0 v128) (local $av1 v128) (local $h0v v128) (local $h1v v128)
    (local $e_t v128) (local $e_r v128) (local $s_x v128) (local $s_y v128) (local $s_q v128)
    (local.set $Lb (i32.shl (local.get $L) (i32.const 2)))
    (local.set $dtT (local.get $scratch))
    (local.set $duT (i32.add (local.get $dtT) (i32.shl (local.get $chunk) (i32.const 4))))
    (local.set $uT (i32.add (local.get $duT) (i32.shl (local.get $chunk) (i32.const 4))))
    (local.set $yT (i32.add (local.get $uT) (i32.shl (local.get $chunk) (i32.const 4))))
    (local.set $hS (i32.add (local.get $yT) (i32.shl (local.get $chunk) (i32.const 4))))
    (local.set $A2 (i32.add (local.get $hS) (i32.shl (local.get $N) (i32.const 4))))
    (local.set $rowBytes (i32.shl (local.get $N) (i32.const 2)))
    (local.set $c (local.get $c0))
    (block $blocksDone
      (loop $block
        (br_if $blocksDone (i32.ge_u (local.get $c) (local.get $c1)))
        (local.set $lanes (i32.sub (local.get $c1) (local.get $c)))
        ;; Rows of the 4 lanes, clamped to the last channel; r* index [d, L] rows, a* index [d] / [d, N].
        (local.set $a0 (local.get $c))
        (local.set $a1 (select (i32.add (local.get $c) (i32.const 1)) (i32.sub (local.get $c1) (i32.const 1))
          (i32.gt_u (local.get $lanes) (i32.const 1))))
        (local.set $a2 (select (i32.add (local.get $c) (i32.const 2)) (i32.sub (local.get $c1) (i32.const 1))
          (i32.gt_u (local.get $lanes) (i32.const 2))))
        (local.set $a3 (select (i32.add (local.get $c) (i32.const 3)) (i32.sub (local.get $c1) (i32.const 1))
          (i32.gt_u (local.get $lanes) (i32.const 3))))
        (local.set $r0 (i32.mul (local.get $a0) (local.get $Lb)))
        (local.set $r1 (i32.mul (local.get $a1) (local.get $Lb)))
        (local.set $r2 (i32.mul (local.get $a2) (local.get $Lb)))
        (local.set $r3 (i32.mul (local.get $a3) (local.get $Lb)))
        (local.set $biasV (v128.const f32x4 0 0 0 0))
        (if (local.get $bias)
          (then (local.set $biasV (call $gather (local.get $bias)
            (i32.shl (local.get $a0) (i32.const 2)) (i32.shl (local.get $a1) (i32.const 2))
            (i32.shl (local.get $a2) (i32.const 2)) (i32.shl (local.get $a3) (i32.const 2)) (i32.const 0)))))
        (local.set $DV (v128.const f32x4 0 0 0 0))
        (if (local.get $D)
          (then (local.set $DV (call $gather (local.get $D)
            (i32.shl (local.get $a0) (i32.const 2)) (i32.shl (local.get $a1) (i32.const 2))
            (i32.shl (local.get $a2) (i32.const 2)) (i32.shl (local.get $a3) (i32.const 2)) (i32.const 0)))))
        ;; A * log2(e) per state (so the inner loop computes 2^(dt * A2)), initial state per state.
        (local.set $n (i32.const 0))
        (block $aDone
          (loop $aNext
            (br_if $aDone (i32.ge_u (local.get $n) (local.get $N)))
            (local.set $col (i32.shl (local.get $n) (i32.const 2)))
            (v128.store (i32.add (local.get $A2) (i32.shl (local.get $n) (i32.const 4)))
              (f32x4.mul
                (call $gather (local.get $A)
                  (i32.mul (local.get $a0) (local.get $rowBytes)) (i32.mul (local.get $a1) (local.get $rowBytes))
                  (i32.mul (local.get $a2) (local.get $rowBytes)) (i32.mul (local.get $a3) (local.get $rowBytes))
                  (local.get $col))
                (v128.const f32x4 1.442695 1.442695 1.442695 1.442695)))
            (v128.store (i32.add (local.get $hS) (i32.shl (local.get $n) (i32.const 4)))
              (if (result v128) (local.get $h0)
                (then (call $gather (local.get $h0)
                  (i32.mul (local.get $a0) (local.get $rowBytes)) (i32.mul (local.get $a1) (local.get $rowBytes))
                  (i32.mul (local.get $a2) (local.get $rowBytes)) (i32.mul (local.get $a3) (local.get $rowBytes))
                  (local.get $col)))
                (else (v128.const f32x4 0 0 0 0))))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (br $aNext)))
        (local.set $t0 (i32.const 0))
        (block $chunksDone
          (loop $chunkLoop
            (br_if $chunksDone (i32.ge_u (local.get $t0) (local.get $L)))
            (local.set $T (i32.sub (local.get $L) (local.get $t0)))
            (if (i32.gt_u (local.get $T) (local.get $chunk)) (then (local.set $T (local.get $chunk))))
            (local.set $iEnd (i32.shl (local.get $T) (i32.const 4)))
            ;; (1) dt = softplus(delta + bias), du = dt * u, y = 0 for the chunk's tokens.
            (local.set $i (i32.const 0))
            (local.set $col (i32.shl (local.get $t0) (i32.const 2)))
            (block $p1Done
              (loop $p1
                (br_if $p1Done (i32.ge_u (local.get $i) (local.get $iEnd)))
                (local.set $dt (f32x4.add (local.get $biasV)
                  (call $gather (local.get $delta) (local.get $r0) (local.get $r1) (local.get $r2) (local.get $r3)
                    (local.get $col))))
                (if (local.get $softplus) (then (local.set $dt (@softplus (local.get $dt)))))
                (local.set $y (call $gather (local.get $u) (local.get $r0) (local.get $r1) (local.get $r2)
                  (local.get $r3) (local.get $col)))
                (v128.store (i32.add (local.get $dtT) (local.get $i)) (local.get $dt))
                (v128.store (i32.add (local.get $duT) (local.get $i)) (f32x4.mul (local.get $dt) (local.get $y)))
                (v128.store (i32.add (local.get $uT) (local.get $i)) (local.get $y))
                (v128.store (i32.add (local.get $yT) (local.get $i)) (v128.const f32x4 0 0 0 0))
                (local.set $col (i32.add (local.get $col) (i32.const 4)))
                (local.set $i (i32.add (local.get $i) (i32.const 16)))
                (br $p1)))
            ;; (2) Two states at a time: two independent recurrences hide the multiply-add latency.
            (local.set $n (i32.const 0))
            (block $p2Done
              (loop $p2
                (br_if $p2Done (i32.ge_u (local.get $n) (local.get $N)))
                (local.set $av0 (v128.load (i32.add (local.get $A2) (i32.shl (local.get $n) (i32.const 4)))))
                (local.set $h0v (v128.load (i32.add (local.get $hS) (i32.shl (local.get $n) (i32.const 4)))))
                ;; B, C rows of state n at the chunk start (the byte column is $i / 4).
                (local.set $Bp (i32.add (local.get $B)
                  (i32.add (i32.mul (local.get $n) (local.get $Lb)) (i32.shl (local.get $t0) (i32.const 2)))))
                (local.set $Cp (i32.add (local.get $C)
                  (i32.add (i32.mul (local.get $n) (local.get $Lb)) (i32.shl (local.get $t0) (i32.const 2)))))
                (local.set $i (i32.const 0))
                (if (i32.lt_u (i32.add (local.get $n) (i32.const 1)) (local.get $N))
                  (then
                    (local.set $av1 (v128.load (i32.add (local.get $A2)
                      (i32.shl (i32.add (local.get $n) (i32.const 1)) (i32.const 4)))))
                    (local.set $h1v (v128.load (i32.add (local.get $hS)
                      (i32.shl (i32.add (local.get $n) (i32.const 1)) (i32.const 4)))))
                    (block $pairDone
                      (loop $pair
                        (br_if $pairDone (i32.ge_u (local.get $i) (local.get $iEnd)))
                        (local.set $dt (v128.load (i32.add (local.get $dtT) (local.get $i))))
                        (local.set $du (v128.load (i32.add (local.get $duT) (local.get $i))))
                        ;; h = exp(dt A) h + dt u B_t
                        (local.set $h0v (f32x4.add
                          (f32x4.mul (@exp2 (f32x4.mul (local.get $dt) (local.get $av0))) (local.get $h0v))
                          (f32x4.mul (local.get $du)
                            (v128.load32_splat (i32.add (local.get $Bp) (i32.shr_u (local.get $i) (i32.const 2)))))))
                        (local.set $h1v (f32x4.add
                          (f32x4.mul (@exp2 (f32x4.mul (local.get $dt) (local.get $av1))) (local.get $h1v))
                          (f32x4.mul (local.get $du)
                            (v128.load32_splat (i32.add (i32.add (local.get $Bp) (local.get $Lb))
                              (i32.shr_u (local.get $i) (i32.const 2)))))))
                        ;; y += C_t . h
                        (v128.store (i32.add (local.get $yT) (local.get $i))
                          (f32x4.add (v128.load (i32.add (local.get $yT) (local.get $i)))
                            (f32x4.add
                              (f32x4.mul (local.get $h0v)
                                (v128.load32_splat (i32.add (local.get $Cp) (i32.shr_u (local.get $i) (i32.const 2)))))
                              (f32x4.mul (local.get $h1v)
                                (v128.load32_splat (i32.add (i32.add (local.get $Cp) (local.get $Lb))
                                  (i32.shr_u (local.get $i) (i32.const 2))))))))
                        (local.set $i (i32.add (local.get $i) (i32.const 16)))
                        (br $pair)))
                    (v128.store (i32.add (local.get $hS) (i32.shl (local.get $n) (i32.const 4))) (local.get $h0v))
                    (v128.store (i32.add (local.get $hS) (i32.shl (i32.add (local.get $n) (i32.const 1)) (i32.const 4)))
                      (local.get $h1v))
                    (local.set $n (i32.add (local.get $n) (i32.const 2))))
                  (else
                    ;; The last state of an odd N, alone.
                    (block $oneDone
                      (loop $one
                        (br_if $oneDone (i32.ge_u (local.get $i) (local.get $iEnd)))
                        (local.set $dt (v128.load (i32.add (local.get $dtT) (local.get $i))))
                        (local.set $h0v (f32x4.add
                          (f32x4.mul (@exp2 (f32x4.mul (local.get $dt) (local.get $av0))) (local.get $h0v))
                          (f32x4.mul (v128.load (i32.add (local.get $duT) (local.get $i)))
                            (v128.load32_splat (i32.add (local.get $Bp) (i32.shr_u (local.get $i) (i32.const 2)))))))
                        (v128.store (i32.add (local.get $yT) (local.get $i))
                          (f32x4.add (v128.load (i32.add (local.get $yT) (local.get $i)))
                            (f32x4.mul (local.get $h0v)
                              (v128.load32_splat (i32.add (local.get $Cp) (i32.shr_u (local.get $i) (i32.const 2)))))))
                        (local.set $i (i32.add (local.get $i) (i32.const 16)))
                        (br $one)))
                    (v128.store (i32.add (local.get $hS) (i32.shl (local.get $n) (i32.const 4))) (local.get $h0v))
                    (local.set $n (i32.add (local.get $n) (i32.const 1)))))
                (br $p2)))
            ;; (3) out = (y + D u) * silu(z), scattered back to the channel rows.
            (local.set $i (i32.const 0))
            (local.set $col (i32.shl (local.get $t0) (i32.const 2)))
            (block $p3Done
              (loop $p3
                (br_if $p3Done (i32.ge_u (local.get $i) (local.get $iEnd)))
                (local.set $y (f32x4.add (v128.load (i32.add (local.get $yT) (local.get $i)))
                  (f32x4.mul (local.get $DV) (v128.load (i32.add (local.get $uT) (local.get $i))))))
                (if (local.get $z)
                  (then (local.set $y (f32x4.mul (local.get $y)
                    (@silu (call $gather (local.get $z) (local.get $r0) (local.get $r1) (local.get $r2)
                      (local.get $r3) (local.get $col)))))))
                (call $scatter (local.get $out) (local.get $r0) (local.get $r1) (local.get $r2) (local.get $r3)
                  (local.get $col) (local.get $lanes) (local.get $y))
                (local.set $col (i32.add (local.get $col) (i32.const 4)))
                (local.set $i (i32.add (local.get $i) (i32.const 16)))
                (br $p3)))
            (local.set $t0 (i32.add (local.get $t0) (local.get $chunk)))
            (br $chunkLoop)))
        ;; Final state of the 4 channels.
        (if (local.get $hT)
          (then
            (local.set $n (i32.const 0))
            (block $hDone
              (loop $hNext
                (br_if $hDone (i32.ge_u (local.get $n) (local.get $N)))
                (call $scatter (local.get $hT)
                  (i32.mul (local.get $a0) (local.get $rowBytes)) (i32.mul (local.get $a1) (local.get $rowBytes))
                  (i32.mul (local.get $a2) (local.get $rowBytes)) (i32.mul (local.get $a3) (local.get $rowBytes))
                  (i32.shl (local.get $n) (i32.const 2)) (local.get $lanes)
                  (v128.load (i32.add (local.get $hS) (i32.shl (local.get $n) (i32.const 4)))))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (br $hNext)))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $block))))

  ;; dt[c] = softplus(dt[c] + bias[c]) (or just + bias) for c in [c0, c1), into $dst (indexed from c0).
  (func $prepareDt (param $dt i32) (param $bias i32) (param $dst i32) (param $c0 i32) (param $c1 i32)
    (param $softplus i32)
    (local $c i32) (local $v v128)
    (local $e_t v128) (local $e_r v128) (local $s_x v128) (local $s_y v128) (local $s_q v128)
    (local.set $c (local.get $c0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $c) (local.get $c1)))
        (if (i32.le_u (i32.add (local.get $c) (i32.const 4)) (local.get $c1))
          (then
            (local.set $v (v128.load (i32.add (local.get $dt) (i32.shl (local.get $c) (i32.const 2)))))
            (if (local.get $bias) (then (local.set $v (f32x4.add (local.get $v)
              (v128.load (i32.add (local.get $bias) (i32.shl (local.get $c) (i32.const 2))))))))
            (if (local.get $softplus) (then (local.set $v (@softplus (local.get $v)))))
            (v128.store (i32.add (local.get $dst) (i32.shl (i32.sub (local.get $c) (local.get $c0)) (i32.const 2)))
              (local.get $v))
            (local.set $c (i32.add (local.get $c) (i32.const 4))))
          (else
            (local.set $v (v128.load32_splat (i32.add (local.get $dt) (i32.shl (local.get $c) (i32.const 2)))))
            (if (local.get $bias) (then (local.set $v (f32x4.add (local.get $v)
              (v128.load32_splat (i32.add (local.get $bias) (i32.shl (local.get $c) (i32.const 2))))))))
            (if (local.get $softplus) (then (local.set $v (@softplus (local.get $v)))))
            (f32.store (i32.add (local.get $dst) (i32.shl (i32.sub (local.get $c) (local.get $c0)) (i32.const 2)))
              (f32x4.extract_lane 0 (local.get $v)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))))
        (br $next))))

  ;; v[c] *= silu(g[c]) for c in [c0, c1).
  (func $gateSilu (param $v i32) (param $g i32) (param $c0 i32) (param $c1 i32)
    (local $c i32) (local $p i32)
    (local $e_t v128) (local $e_r v128) (local $s_x v128) (local $s_y v128) (local $s_q v128)
    (local.set $c (local.get $c0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $c) (local.get $c1)))
        (local.set $p (i32.add (local.get $v) (i32.shl (local.get $c) (i32.const 2))))
        (if (i32.le_u (i32.add (local.get $c) (i32.const 4)) (local.get $c1))
          (then
            (v128.store (local.get $p) (f32x4.mul (v128.load (local.get $p))
              (@silu (v128.load (i32.add (local.get $g) (i32.shl (local.get $c) (i32.const 2)))))))
            (local.set $c (i32.add (local.get $c) (i32.const 4))))
          (else
            (f32.store (local.get $p) (f32.mul (f32.load (local.get $p)) (f32x4.extract_lane 0
              (@silu (v128.load32_splat (i32.add (local.get $g) (i32.shl (local.get $c) (i32.const 2))))))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))))
        (br $next))))

  ;; v[c] = silu(v[c]) for c in [c0, c1).
  (func $siluInPlace (param $v i32) (param $c0 i32) (param $c1 i32)
    (local $c i32) (local $p i32)
    (local $e_t v128) (local $e_r v128) (local $s_x v128) (local $s_y v128) (local $s_q v128)
    (local.set $c (local.get $c0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $c) (local.get $c1)))
        (local.set $p (i32.add (local.get $v) (i32.shl (local.get $c) (i32.const 2))))
        (if (i32.le_u (i32.add (local.get $c) (i32.const 4)) (local.get $c1))
          (then
            (v128.store (local.get $p) (@silu (v128.load (local.get $p))))
            (local.set $c (i32.add (local.get $c) (i32.const 4))))
          (else
            (f32.store (local.get $p) (f32x4.extract_lane 0 (@silu (v128.load32_splat (local.get $p)))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))))
        (br $next))))

  ;; One-token state update of one batch row, channels [c0, c1), vectorised across the N states of a
  ;; channel (state rows are contiguous; B and C of the token stay in registers for all channels).
  ;; state: this batch's [d, N] (updated in place); x, dt, z, out: this batch's [d]; A: [d, N];
  ;; B, C: this batch's (and group's) [N]; D, bias: [d]. Scratch: 4 * (c1 - c0) bytes.
  (func (export "state_update")
    (param $state i32) (param $x i32) (param $dt i32) (param $A i32) (param $B i32) (param $C i32)
    (param $D i32) (param $z i32) (param $bias i32) (param $out i32)
    (param $c0 i32) (param $c1 i32) (param $N i32) (param $softplus i32) (param $scratch i32)
    (local $c i32) (local $q i32) (local $N4 i32) (local $sp i32) (local $ap i32) (local $xs f32) (local $y f32)
    (local $s f32) (local $dts f32)
    (local $dtv v128) (local $dx v128) (local $sv v128) (local $acc v128)
    (local $e_t v128) (local $e_r v128)
    (call $prepareDt (local.get $dt) (local.get $bias) (local.get $scratch) (local.get $c0) (local.get $c1)
      (local.get $softplus))
    (local.set $N4 (i32.and (local.get $N) (i32.const -4)))
    (local.set $c (local.get $c0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $c) (local.get $c1)))
        (local.set $dts (f32.load (i32.add (local.get $scratch) (i32.shl (i32.sub (local.get $c) (local.get $c0)) (i32.const 2)))))
        (local.set $xs (f32.load (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2)))))
        (local.set $dtv (f32x4.splat (local.get $dts)))
        (local.set $dx (f32x4.splat (f32.mul (local.get $dts) (local.get $xs))))
        (local.set $sp (i32.add (local.get $state) (i32.shl (i32.mul (local.get $c) (local.get $N)) (i32.const 2))))
        (local.set $ap (i32.add (local.get $A) (i32.shl (i32.mul (local.get $c) (local.get $N)) (i32.const 2))))
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $q (i32.const 0))
        (block $qDone
          (loop $qNext
            (br_if $qDone (i32.ge_u (local.get $q) (local.get $N4)))
            ;; s = exp(dt A) s + dt x B ; acc += s C
            (local.set $sv (f32x4.add
              (f32x4.mul
                (@exp2 (f32x4.mul (local.get $dtv) (f32x4.mul
                  (v128.load (i32.add (local.get $ap) (i32.shl (local.get $q) (i32.const 2))))
                  (v128.const f32x4 1.442695 1.442695 1.442695 1.442695))))
                (v128.load (i32.add (local.get $sp) (i32.shl (local.get $q) (i32.const 2)))))
              (f32x4.mul (local.get $dx) (v128.load (i32.add (local.get $B) (i32.shl (local.get $q) (i32.const 2)))))))
            (v128.store (i32.add (local.get $sp) (i32.shl (local.get $q) (i32.const 2))) (local.get $sv))
            (local.set $acc (f32x4.add (local.get $acc)
              (f32x4.mul (local.get $sv) (v128.load (i32.add (local.get $C) (i32.shl (local.get $q) (i32.const 2)))))))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (br $qNext)))
        ;; Horizontal sum of the 4 partial sums.
        (local.set $acc (f32x4.add (local.get $acc) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7
          (local.get $acc) (local.get $acc))))
        (local.set $y (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc))))
        ;; States beyond the last multiple of 4, one at a time.
        (block $tDone
          (loop $tNext
            (br_if $tDone (i32.ge_u (local.get $q) (local.get $N)))
            (local.set $s (f32.add
              (f32.mul
                (f32x4.extract_lane 0 (@exp2 (f32x4.splat (f32.mul (f32.mul (local.get $dts)
                  (f32.load (i32.add (local.get $ap) (i32.shl (local.get $q) (i32.const 2))))) (f32.const 1.442695)))))
                (f32.load (i32.add (local.get $sp) (i32.shl (local.get $q) (i32.const 2)))))
              (f32.mul (f32.mul (local.get $dts) (local.get $xs))
                (f32.load (i32.add (local.get $B) (i32.shl (local.get $q) (i32.const 2)))))))
            (f32.store (i32.add (local.get $sp) (i32.shl (local.get $q) (i32.const 2))) (local.get $s))
            (local.set $y (f32.add (local.get $y)
              (f32.mul (local.get $s) (f32.load (i32.add (local.get $C) (i32.shl (local.get $q) (i32.const 2)))))))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $tNext)))
        (if (local.get $D)
          (then (local.set $y (f32.add (local.get $y)
            (f32.mul (local.get $xs) (f32.load (i32.add (local.get $D) (i32.shl (local.get $c) (i32.const 2)))))))))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2))) (local.get $y))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $next)))
    (if (local.get $z) (then (call $gateSilu (local.get $out) (local.get $z) (local.get $c0) (local.get $c1)))))

  ;; Causal depthwise conv1d of one batch row, channels [c0, c1), vectorised along the sequence.
  ;; x, out: this batch's [d, L]; w: [d, W]; bias: [d]; init, final: this batch's [d, W-1].
  ;; Scratch: 4 * (W - 1 + L + 4) bytes (the padded row: W-1 initial values or zeros, x, 4 spare floats).
  (func (export "conv1d")
    (param $x i32) (param $w i32) (param $bias i32) (param $init i32) (param $out i32) (param $final i32)
    (param $c0 i32) (param $c1 i32) (param $L i32) (param $W i32) (param $silu i32) (param $scratch i32)
    (local $c i32) (local $t i32) (local $k i32) (local $hb i32) (local $wp i32) (local $op i32) (local $pp i32)
    (local $acc v128) (local $bv v128)
    (local $e_t v128) (local $e_r v128) (local $s_x v128) (local $s_y v128) (local $s_q v128)
    (local.set $hb (i32.shl (i32.sub (local.get $W) (i32.const 1)) (i32.const 2)))
    ;; Spare floats after the row: the last vector of a row reads up to 3 of them.
    (memory.fill (i32.add (local.get $scratch) (i32.add (local.get $hb) (i32.shl (local.get $L) (i32.const 2))))
      (i32.const 0) (i32.const 16))
    (local.set $c (local.get $c0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $c) (local.get $c1)))
        (if (local.get $init)
          (then (memory.copy (local.get $scratch)
            (i32.add (local.get $init) (i32.mul (local.get $c) (local.get $hb))) (local.get $hb)))
          (else (memory.fill (local.get $scratch) (i32.const 0) (local.get $hb))))
        (memory.copy (i32.add (local.get $scratch) (local.get $hb))
          (i32.add (local.get $x) (i32.shl (i32.mul (local.get $c) (local.get $L)) (i32.const 2)))
          (i32.shl (local.get $L) (i32.const 2)))
        (local.set $bv (if (result v128) (local.get $bias)
          (then (v128.load32_splat (i32.add (local.get $bias) (i32.shl (local.get $c) (i32.const 2)))))
          (else (v128.const f32x4 0 0 0 0))))
        (local.set $wp (i32.add (local.get $w) (i32.shl (i32.mul (local.get $c) (local.get $W)) (i32.const 2))))
        (local.set $op (i32.add (local.get $out) (i32.shl (i32.mul (local.get $c) (local.get $L)) (i32.const 2))))
        (local.set $t (i32.const 0))
        (block $tDone
          (loop $tNext
            (br_if $tDone (i32.ge_u (local.get $t) (local.get $L)))
            ;; out[t..t+3] = bias + sum_k w[k] * padded[t+k .. t+k+3]  (F.conv1d is a cross-correlation)
            (local.set $acc (local.get $bv))
            (local.set $pp (i32.add (local.get $scratch) (i32.shl (local.get $t) (i32.const 2))))
            (local.set $k (i32.const 0))
            (block $kDone
              (loop $kNext
                (br_if $kDone (i32.ge_u (local.get $k) (local.get $W)))
                (local.set $acc (f32x4.add (local.get $acc)
                  (f32x4.mul (v128.load32_splat (i32.add (local.get $wp) (i32.shl (local.get $k) (i32.const 2))))
                    (v128.load (i32.add (local.get $pp) (i32.shl (local.get $k) (i32.const 2)))))))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $kNext)))
            (if (local.get $silu) (then (local.set $acc (@silu (local.get $acc)))))
            (if (i32.le_u (i32.add (local.get $t) (i32.const 4)) (local.get $L))
              (then (v128.store (i32.add (local.get $op) (i32.shl (local.get $t) (i32.const 2))) (local.get $acc)))
              (else
                (f32.store (i32.add (local.get $op) (i32.shl (local.get $t) (i32.const 2)))
                  (f32x4.extract_lane 0 (local.get $acc)))
                (if (i32.lt_u (i32.add (local.get $t) (i32.const 1)) (local.get $L))
                  (then (f32.store offset=4 (i32.add (local.get $op) (i32.shl (local.get $t) (i32.const 2)))
                    (f32x4.extract_lane 1 (local.get $acc)))))
                (if (i32.lt_u (i32.add (local.get $t) (i32.const 2)) (local.get $L))
                  (then (f32.store offset=8 (i32.add (local.get $op) (i32.shl (local.get $t) (i32.const 2)))
                    (f32x4.extract_lane 2 (local.get $acc)))))))
            (local.set $t (i32.add (local.get $t) (i32.const 4)))
            (br $tNext)))
        ;; The last W-1 values of the padded row are the next call's initial state.
        (if (local.get $final)
          (then (memory.copy (i32.add (local.get $final) (i32.mul (local.get $c) (local.get $hb)))
            (i32.add (local.get $scratch) (i32.shl (local.get $L) (i32.const 2))) (local.get $hb))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $next))))

;; One-token conv update of one batch row, channels [c0, c1): roll each state row left by one, write x
  ;; last, dot with the weights (one pass, scalar: W is tiny). state: this batch's [d, W] (in place);
  ;; x, out: this batch's [d]; w: [d, W].
  (func (export "conv_update")
    (param $state i32) (param $x i32) (param $w i32) (param $bias i32) (param $out i32)
    (param $c0 i32) (param $c1 i32) (param $W i32) (param $silu i32)
    (local $c i32) (local $k i32) (local $sp i32) (local $wp i32) (local $acc f32) (local $v f32) (local $last i32)
    (local.set $last (i32.shl (i32.sub (local.get $W) (i32.const 1)) (i32.const 2)))
    (local.set $c (local.get $c0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $c) (local.get $c1)))
        (local.set $sp (i32.add (local.get $state) (i32.shl (i32.mul (local.get $c) (local.get $W)) (i32.const 2))))
        (local.set $wp (i32.add (local.get $w) (i32.shl (i32.mul (local.get $c) (local.get $W)) (i32.const 2))))
        (local.set $acc (f32.const 0))
        (local.set $k (i32.const 0))
        (block $kDone
          (loop $kNext
            ;; v = state[k + 1] (x for the last column); state[k] = v; acc += v * w[k]
            (local.set $v (if (result f32) (i32.lt_u (local.get $k) (local.get $last))
              (then (f32.load offset=4 (i32.add (local.get $sp) (local.get $k))))
              (else (f32.load (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2)))))))
            (f32.store (i32.add (local.get $sp) (local.get $k)) (local.get $v))
            (local.set $acc (f32.add (local.get $acc) (f32.mul (local.get $v) (f32.load (i32.add (local.get $wp) (local.get $k))))))
            (br_if $kDone (i32.ge_u (local.get $k) (local.get $last)))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $kNext)))
        (if (local.get $bias)
          (then (local.set $acc (f32.add (local.get $acc)
            (f32.load (i32.add (local.get $bias) (i32.shl (local.get $c) (i32.const 2))))))))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2))) (local.get $acc))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $next)))
    (if (local.get $silu) (then (call $siluInPlace (local.get $out) (local.get $c0) (local.get $c1)))))
)
