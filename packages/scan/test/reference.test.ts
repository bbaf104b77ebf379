import { referenceKernel } from "../src/reference.js";
import { kernelSuite } from "./suite.js";

kernelSuite("reference", async () => referenceKernel);
