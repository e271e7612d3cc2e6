// Validates FHIR R4 resources with the npm "fhir" package (R4 core structure definitions and
// value sets): one JSON resource per input line, one JSON answer per output line.
import { createInterface } from 'node:readline';
import { Fhir } from 'fhir';

const fhir = new Fhir();
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
lines.on('line', (line) => {
  let answer;
  try {
    const result = fhir.validate(JSON.parse(line));
    const errors = result.messages.filter((m) => m.severity === 'error');
    answer = { valid: errors.length === 0, errors };
  } catch (err) {
    answer = { valid: false, errors: [{ message: String(err) }] };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
});
