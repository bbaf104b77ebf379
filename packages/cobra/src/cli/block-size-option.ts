import { Option } from "commander";
import { positiveInt } from "./numbers.js";

/** `--block-size`, as convert, quantize and synth take it. */
export const blockSizeOption = () =>
  new Option(
    "--block-size <n>",
    "weights per quantization block of the q8 / q4 parts (default 32 at q8, 128 at q4 / q4f16); 64 gives Q8_0 / Q4_0's bits per weight",
  ).argParser(positiveInt);
