// What the API's failure reasons mean to someone using the bank. The API's
// reasons are the keys (services/commandhandler/domain, graph/bank.go,
// services/projector); anything else is shown as the API words it.
const exact = {
  'invalid password': 'Wrong password.',
  'invalid username or password': 'Wrong username or password. New here? Use Create an account.',
  'username is taken': 'This username is taken: log in with its password, or choose another.',
  'not your account': 'That account is not one of yours.',
  'username or token is not valid for this account': 'This account does not accept your token: log out and in again.',
  'cash can be deposited only by an owner of the account (username and token) or by an employee': 'Only the account\'s owners (or an employee) can deposit cash on it.',
  'description must be at most 140 characters of text': 'Keep the description to one line of at most 140 characters.',
  'the balance would exceed what an account can hold': 'That would put more money on the account than it can hold.',
  'the transfer has already ended': 'This transfer has already ended.',
  'username must be 1 to 64 printable characters': 'Choose a username of 1 to 64 characters (letters, digits, punctuation).',
  'password must be 1 to 72 bytes': 'Choose a password of 1 to 72 characters.',
  'user already exists': 'This username is taken: log in with its password, or choose another.',
  'token is not valid': 'This account does not accept your token: log out and in again.',
  'user is not an owner of the account': 'You are not an owner of this account.',
  'account does not exist': 'There is no account with this IBAN at Open Bank.',
  'from and to can\'t be same for transfer': 'Choose another account to send the money to.',
  'from is invalid': 'The account to send from is not an account of Open Bank.',
  'to is invalid': 'That IBAN is not valid: check it for typos.',
  'cash can only be deposited on an account of this bank': 'Cash can only be deposited on an account of Open Bank.',
  'amount should be positive': 'The amount must be more than zero.',
  'transfer was already started': 'This transfer was already sent.',
  'user is already an owner of the account': 'That user already owns this account.',
  'user does not exist': 'There is no user with that name.',
  'the last owner can\'t leave an account whose balance is not zero': 'Empty the account before you leave it: you are its last owner.',
  'uuid is not a valid UUID': 'The transfer could not be identified; try again.',
  'no employee credential is configured (--employee-password)': 'Employee log-in is not set up on this bank (the gateway needs --employee-password).',
  'max_items must be between 1 and 1000': 'Show between 1 and 1000 transactions.',
  'user not found': 'There is no user with that name.',
  'account not found': 'There is no account with this IBAN at Open Bank.',
  'transaction not found': 'There is no such transaction.',
};

// explain turns an API reason into a sentence for the page.
export function explain(reason) {
  if (!reason) return 'Something went wrong.';
  if (exact[reason]) return exact[reason];
  if (reason.startsWith('insufficient funds')) {
    const limit = reason.match(/limit of (.+)$/);
    return `Not enough money in the account${limit ? ` (it may not go below ${limit[1]})` : ''}.`;
  }
  if (reason.startsWith('amount may be at most')) {
    const most = reason.match(/at most (.+) per transfer/);
    return `That is more than one transfer may move${most ? ` (at most ${most[1]})` : ''}.`;
  }
  if (reason.startsWith('a cash deposit may be at most')) {
    return `That is more cash than one deposit may bring (${reason.replace('a cash deposit may be at most ', 'at most ')}).`;
  }
  if (reason.startsWith('cash deposits on an account may total at most')) {
    return `That would take today's cash deposits on this account over the daily limit (${reason.replace('cash deposits on an account may total ', '')}).`;
  }
  if (reason.startsWith('too many sign-ups') || reason.startsWith('too many cash deposits')) {
    const wait = reason.match(/in (\d+)s$/);
    return `Too many tries from your address: wait ${wait ? `${wait[1]} seconds` : 'a minute'} and try again.`;
  }
  if (reason.startsWith('too many failed log-ins')) {
    const wait = reason.match(/try again in (\d+)s$/);
    return `Too many wrong passwords: wait ${wait ? `${wait[1]} seconds` : 'a minute'} before you try again.`;
  }
  if (reason.startsWith('not logged in')) return 'Your session ended: log in again.';
  if (reason.startsWith('employees only')) return 'Only employees may see this: log in as an employee.';
  if (reason.startsWith('kafka unavailable')) {
    return 'The bank cannot reach its message broker right now. Nothing was lost; try again in a moment.';
  }
  if (reason.startsWith('no answer to') || reason.startsWith('no outcome within')) {
    return 'The bank did not answer in time; it is still working on it. Try again in a moment.';
  }
  return reason.charAt(0).toUpperCase() + reason.slice(1) + (/[.!?]$/.test(reason) ? '' : '.');
}
