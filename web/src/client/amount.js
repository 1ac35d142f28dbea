// An amount field: euros as people type them, with what it reads as
// shown while they type.
import { field } from '../dom.js';
import { parseEuros, showCents } from '../money.js';

const HINT = 'In euros, e.g. 12,50';

// amountField is a labelled amount input; reset() empties it.
export function amountField(label, name = 'amount') {
  const f = field({ label, name, inputmode: 'decimal', autocomplete: 'off', required: true, placeholder: '0,00', hint: HINT });
  const preview = () => {
    const { cents } = parseEuros(f.input.value);
    f.hintEl.textContent = cents ? `= ${showCents(cents)}` : HINT;
  };
  f.input.addEventListener('input', preview);
  return {
    ...f,
    parse: () => parseEuros(f.input.value),
    reset() {
      f.input.value = '';
      f.setError('');
      preview();
    },
  };
}
