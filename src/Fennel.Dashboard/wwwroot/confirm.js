// The confirmation dialog (a real <dialog>): names the action and every target before anything is sent.
import { h, replace } from './dom.js';

/**
 * Asks; resolves true on Confirm, false on Cancel or Escape.
 * @param {string} title what will happen ("Warm shutdown of 2 workers")
 * @param {string} text what it means
 * @param {string[]} targets every node, queue or message it applies to
 * @param {string} okLabel the button's text
 */
export function confirmAction(title, text, targets, okLabel = 'Confirm') {
  const dialog = document.getElementById('confirm');
  const ok = document.getElementById('confirm-ok');
  const cancel = document.getElementById('confirm-cancel');
  document.getElementById('confirm-title').textContent = title;
  const list = h('ul', { class: 'targets', testid: 'confirm-targets' },
    targets.map(t => h('li', { testid: 'confirm-target' }, t)));
  replace(document.getElementById('confirm-body'), h('p', {}, text), targets.length ? list : null);
  ok.textContent = okLabel;
  return new Promise(resolve => {
    const done = answer => {
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onOk = () => done(true);
    const onCancel = () => done(false);
    const onClose = () => done(false);
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    cancel.focus();
  });
}
