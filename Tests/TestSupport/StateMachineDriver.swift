/// Holds a state machine under test by reference, so that `#expect` can take a mutating input
/// (`#expect(driver.machine.stop())`): its expansion captures the operands immutably, which a
/// `var` of value type cannot be mutated through.
public final class StateMachineDriver<Machine> {
    public var machine: Machine

    public init(_ machine: Machine) {
        self.machine = machine
    }
}
