import { Option } from "commander";
import { positiveInt } from "./numbers.js";

/** `--block-size`, as convert, quantize and synth take it. */
export const blockSizeOption = () =>
  new Option(
    "--block-size <n>",
    "weights per quantization block of the q8 / q4 parts: 32 (default), 64 (Q8_0/Q4_0's bits per weight) or 128",
  ).argParser(positiveInt);
