#!/usr/bin/env node
// A committed launcher, so npm links the `cobra` bin at install time, before the first build creates dist/.
import "../dist/cli.js";
