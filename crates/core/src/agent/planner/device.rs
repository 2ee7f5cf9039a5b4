//! The planner's device side: the on-device ranking, and what follows it
//! (the answer at autonomy 0, the items the model words at autonomy 1, the
//! fallback, the items of a model answer that named none).

use serde_json::{json, Value};

use super::{DeviceFor, Phase, Planner, DEVICE_CALL_ID};
use crate::agent::outbound::Part;
use crate::agent::policy::DataClass;
use crate::agent::tools::{AnswerItem, INTENT_ARG};
use crate::agent::PlannerAction;

impl Planner {
    pub(super) fn device_rank(&mut self, purpose: DeviceFor, now_ms: f64, out: &mut Vec<PlannerAction>) {
        if self.device.is_some() {
            self.after_device(purpose, now_ms, out);
            return;
        }
        let mut args = json!({"k": self.config.device_k});
        if let Some(intent) = &self.context.intent {
            args[INTENT_ARG] = serde_json::to_value(intent).unwrap_or(Value::Null);
        } else {
            let query = self.context.device_query.clone().unwrap_or_else(|| self.request.clone());
            if !query.trim().is_empty() {
                args["query"] = Value::String(query);
            }
        }
        self.phase = Phase::Device(purpose, now_ms);
        out.push(PlannerAction::CallTool { call_id: DEVICE_CALL_ID.to_string(), name: "recommend".to_string(), args });
    }

    pub(super) fn device_items(&self) -> Vec<AnswerItem> {
        self.device.as_ref().map(|d| d.items.clone()).unwrap_or_default()
    }

    pub(super) fn after_device(&mut self, purpose: DeviceFor, now_ms: f64, out: &mut Vec<PlannerAction>) {
        match purpose {
            DeviceFor::Answer => {
                self.finish(String::new(), self.device_items(), None, None, now_ms, out);
            }
            DeviceFor::Fallback(f) => {
                self.finish(String::new(), self.device_items(), None, Some(f), now_ms, out);
            }
            DeviceFor::Items(text) => {
                self.finish(text, self.device_items(), None, None, now_ms, out);
            }
            DeviceFor::Prelude => {
                let device = self.device.clone();
                if let (Some(d), Some(user)) = (device, self.messages.last_mut()) {
                    user.parts.push(Part::fixed(
                        "The device ranked the items below for this request. Describe them briefly for the user, in this order; do not add other items.",
                    ));
                    user.parts.push(Part::data(DataClass::PublicItem, "tool:recommend", d.value.to_string()));
                    user.parts.extend(d.details.iter().map(|(c, v)| Part::data(*c, "tool:recommend", v.to_string())));
                }
                self.call_model(now_ms, out);
            }
        }
    }
}
