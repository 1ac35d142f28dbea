// The bank's event records in words, for the audit view.
const WORDS = {
  AlertRuleCreatedEvent: 'Alert rule set',
  AlertRuleDeletedEvent: 'Alert rule ended',
  AlertTriggeredEvent: 'Alert raised',
  BankAccountCreatedEvent: 'Account opened',
  MoneyCreditedEvent: 'Money credited',
  MoneyDebitedEvent: 'Money debited',
  MoneyReturnedEvent: 'Money returned',
  PasswordChangedEvent: 'Password changed',
  SessionsRevokedEvent: 'Sessions ended',
  TransactionHappenedEvent: 'Transaction',
  TransferCompletedEvent: 'Transfer completed',
  TransferFailedEvent: 'Transfer failed',
  TransferStartedEvent: 'Transfer started',
  UserAccountCreatedEvent: 'User created',
  UserAddedToBankAccountEvent: 'Co-owner added',
  UserRemovedFromBankAccountEvent: 'Owner left an account',
};

// describeEvent names a record type (e.g. MoneyDebitedEvent) in words; a
// type this page does not know keeps its name.
export function describeEvent(type) {
  return WORDS[type] ?? type;
}
